#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, only when it
# is missing: from Debian's packages prometheus and promtool (the alerting
# tests run a real Prometheus), nats-server (the JetStream consumer tests
# run a real server), chromium and node (the real-SDK tests run the TRTC Web
# SDKs in a real browser, and the daemon's pages; a Japanese font for those);
# from the npm registry, with the versions the
# lockfile pins, the SDKs (trtc-js-sdk 4.15.22 and 4.10.2, trtc-sdk-v5 5.17.1 and
# 5.8.6) and puppeteer-core (which drives the system
# chromium and downloads no browser of its own). Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
command -v nats-server >/dev/null || need+=(nats-server)
# amtool checks the Alertmanager example and its notification template.
command -v amtool >/dev/null || need+=(prometheus-alertmanager)
command -v chromium >/dev/null || need+=(chromium)
command -v node >/dev/null && command -v npm >/dev/null || need+=(nodejs npm)
# A real log collector for the collector recipes' end-to-end test.
command -v syslog-ng >/dev/null || need+=(syslog-ng-core syslog-ng-mod-http)
# A Japanese font, so that the daemon's Japanese pages render (and their
# screenshots in docs/ show text, not boxes).
[ -e /usr/share/fonts/opentype/ipafont-gothic ] || need+=(fonts-ipafont-gothic)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} from Debian's packages" >&2
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
      as_root=(sudo)
    else
      echo "cannot install ${need[*]}: apt-get needs root (run this as root, or install them)" >&2
      exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null; then
    echo "cannot install ${need[*]}: no apt-get (these are Debian's package names; install them, or their equivalents)" >&2
    exit 1
  fi
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The package may start its own service where an init system runs; the tests start their own.
  for svc in prometheus prometheus-alertmanager nats-server syslog-ng; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
      "${as_root[@]}" systemctl stop "$svc" || true
    fi
  done
fi
# The SDKs as the lockfile pins them; again only when the lockfile changed.
browser=tests/browser
if [ ! -f "$browser/node_modules/.package-lock.json" ] ||
   [ "$browser/package-lock.json" -nt "$browser/node_modules/.package-lock.json" ]; then
  echo "installing the npm packages of $browser (npm ci)" >&2
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix "$browser" --no-audit --no-fund --loglevel=error >/dev/null
fi
prometheus --version 2>&1 | head -1
promtool --version 2>&1 | head -1
nats-server --version 2>&1 | head -1
amtool --version 2>&1 | head -1
chromium --version 2>/dev/null | head -1
echo "node $(node --version); $(node -p "'trtc-sdk-v5 ' + require('./$browser/node_modules/trtc-sdk-v5/package.json').version + ', trtc-js-sdk ' + require('./$browser/node_modules/trtc-js-sdk/package.json').version")"
