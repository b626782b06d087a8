#!/usr/bin/env bash
# Installs the peers the interop tests talk to, from Debian and PyPI.
set -euo pipefail
need=()
command -v prometheus >/dev/null || need+=(prometheus)
# promtool ships in the same Debian package.
command -v promtool >/dev/null || need+=(prometheus)
# amtool (tests/interop/am_routes.sh) ships with Debian's Alertmanager.
command -v amtool >/dev/null || need+=(prometheus-alertmanager)
# PostgreSQL: the state backend's tests start a throwaway server
# (crates/state-pg, tests/interop/pg.bash); Debian puts initdb off PATH.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v curl >/dev/null || need+=(curl)
# bench/proxy.sh: the load generator and the reverse proxy the traffic
# proxy is compared with.
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
# storage.mode: remote is checked against VictoriaMetrics
# (tests/interop/remote_storage.sh; bench/ingest.sh uses it too).
[ -x /usr/bin/victoria-metrics ] || need+=(victoria-metrics)
# The console checks run the pages in a real (headless) browser.
command -v chromium >/dev/null || need+=(chromium)
# ...driven by playwright-core from npm (tests/browser, `npm ci`). Debian's
# node only when there is none: an image's newer node stays.
command -v node >/dev/null || need+=(nodejs npm)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
python3 -c 'import opentelemetry.exporter.otlp.proto.http' 2>/dev/null \
  || pip install -q opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
# The canary judge's p-values are checked against scipy (crates/canary tests).
python3 -c 'import scipy.stats' 2>/dev/null || pip install -q scipy
# The fault proxy's interop (tests/interop/toxiproxy_clients.sh): Toxiproxy's
# Python and Node clients and the Chaos Toolkit CLI with its toxiproxy and
# prometheus extensions, pinned, in a venv and node_modules of their own.
deps="$(dirname "$0")/../target/interop-deps"
mkdir -p "$deps"
if ! "$deps/venv/bin/python" -c 'import toxiproxy, chaostoxi, chaosprometheus, jsonpath2' 2>/dev/null \
  || ! [ -x "$deps/venv/bin/chaos" ]; then
  python3 -m venv "$deps/venv" 2>/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$deps/venv"
  }
  "$deps/venv/bin/pip" install -q toxiproxy-python==0.1.1 chaostoolkit==1.19.0 \
    'chaostoolkit-lib[jsonpath]==1.44.0' chaostoolkit-toxiproxy==0.3.1 chaostoolkit-prometheus==0.6.0
fi
[ -d "$deps/node_modules/toxiproxy-node-client" ] \
  || npm install --silent --no-save --no-package-lock --prefix "$deps" toxiproxy-node-client@4.1.0
