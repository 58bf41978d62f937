# trtc-logwatch image: a static build stage and a small, non-root runtime.
# Not built in CI (no container runtime there); see README "Install".
#   docker build -t trtc-logwatch:0.1.0 .
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
 && strip target/release/trtc-logwatch

FROM debian:bookworm-slim
COPY --from=build /src/target/release/trtc-logwatch /usr/local/bin/trtc-logwatch
# The built-in catalogs are compiled in; /etc/trtc-logwatch holds the config.
RUN useradd --system --uid 10001 --home-dir /var/lib/trtc-logwatch --create-home trtc-logwatch
USER 10001
EXPOSE 9898
# The binary answers its own health check (no curl in the image).
HEALTHCHECK --interval=30s --timeout=5s CMD ["trtc-logwatch", "healthcheck", "http://127.0.0.1:9898/healthz"]
ENTRYPOINT ["trtc-logwatch"]
CMD ["run", "--config", "/etc/trtc-logwatch/config.yaml"]
