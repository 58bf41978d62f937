# trtc-logwatch image: a static (musl) build, then a small non-root image
# with the binary, a config that runs without a mount, and its ports.
# Not built in CI (no container runtime there); see docs/deployment.md.
#   docker build -t trtc-logwatch:0.1.0 .
FROM rust:1.95-alpine AS build
RUN apk add --no-cache musl-dev gcc
WORKDIR /src
COPY . .
# Statically linked (crt-static), no debug info in the image (the release
# profile keeps it for profiling on a workstation), then checked static.
RUN target="$(rustc -vV | sed -n 's/^host: //p')" \
 && RUSTFLAGS="-C target-feature=+crt-static" CARGO_PROFILE_RELEASE_DEBUG=0 \
    cargo build --release --locked --target "$target" \
 && cp "target/$target/release/trtc-logwatch" /trtc-logwatch \
 && strip /trtc-logwatch \
 && if ldd /trtc-logwatch 2>&1 | grep -q '=>'; then echo "not static" >&2; exit 1; fi \
 && /trtc-logwatch check-config deploy/container/config.yaml

FROM debian:bookworm-slim
COPY --from=build /trtc-logwatch /usr/local/bin/trtc-logwatch
COPY deploy/container/config.yaml /etc/trtc-logwatch/config.yaml
# The built-in catalogs are compiled in; the state (checkpoints) is kept in
# /var/lib/trtc-logwatch, the logs are read from /var/log/trtc.
RUN useradd --system --uid 10001 --home-dir /var/lib/trtc-logwatch --create-home trtc-logwatch \
 && install -d -o 10001 /var/log/trtc
USER 10001
# 9898: /metrics, /healthz, /readyz and the pages; 9897: the browser
# endpoint (browser: in the config); 9899: the ingest endpoint (ingest:).
EXPOSE 9898 9897 9899
# The binary answers its own health check (no curl in the image).
HEALTHCHECK --interval=30s --timeout=5s CMD ["trtc-logwatch", "healthcheck", "http://127.0.0.1:9898/healthz"]
ENTRYPOINT ["trtc-logwatch"]
CMD ["run", "--config", "/etc/trtc-logwatch/config.yaml"]
