#!/usr/bin/env bash
# TLS, mTLS and slow clients, against real clients: certificates from
# openssl (a CA, a server certificate, a client certificate);
# `promtool query instant https://…` with a CA file (tls_config in
# --http.config.file where promtool has it, else SSL_CERT_FILE; this also
# shows the self-scrape still works under TLS); mTLS with
# RequireAndVerifyClientCert refusing curl without a client certificate and
# serving it with one; 300 slowloris connections (plain, then over TLS)
# closed by the server within web.header_timeout while a normal request
# is still served.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
require_peer promtool command -v promtool
require_peer openssl command -v openssl
require_peer curl command -v curl

passed=0; failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
# check NAME CMD...: passes when CMD succeeds.
check() { local name=$1; shift; if "$@" >"$WORK/out" 2>&1; then ok "$name"; else fail "$name"; sed 's/^/    /' "$WORK/out" | head -20; fi; }
# refuse NAME CMD...: passes when CMD fails.
refuse() { local name=$1; shift; if "$@" >"$WORK/out" 2>&1; then fail "$name (it succeeded)"; sed 's/^/    /' "$WORK/out" | head -10; else ok "$name"; fi; }

# --- certificates
C=$WORK/certs; mkdir -p "$C"
( cd "$C"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 2 -subj "/CN=interop CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
  issue() { # NAME CN EXT
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
    printf '%s\n' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" -days 2 -extfile "$1.ext"
  }
  issue server localhost 'subjectAltName=DNS:localhost,IP:127.0.0.1'
  issue client ci-runner 'extendedKeyUsage=clientAuth'
) >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log"; exit 1; }

# start NAME PORT WEB-CONFIG SCHEME: a homeostat with its own data dir,
# waited for with the CA (and the client certificate, which a server
# without mTLS simply does not ask for).
start() {
  local name=$1 port=$2 web=$3 scheme=$4
  "$HOMEOSTAT" serve --listen "127.0.0.1:$port" --data-dir "$WORK/$name-data" \
    --config "$WORK/homeostat.yaml" ${web:+--web.config.file "$web"} > "$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  local deadline=$((SECONDS + 30))
  until curl -fsS -o /dev/null --cacert "$C/ca.pem" --cert "$C/client.pem" --key "$C/client.key" \
      "$scheme://127.0.0.1:$port/-/ready" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then echo "$name did not come up"; cat "$WORK/$name.log"; exit 1; fi
    sleep 0.2
  done
}

cat > "$WORK/homeostat.yaml" <<YAML
self_scrape: true
self_scrape_interval: 1s
web:
  header_timeout: 3s
YAML

# --- TLS with a server certificate only
TLS_PORT=$(free_port)
cat > "$WORK/web-tls.yml" <<YAML
tls_server_config:
  cert_file: $C/server.pem
  key_file: $C/server.key
http_server_config:
  headers:
    Strict-Transport-Security: max-age=63072000
YAML
start tls "$TLS_PORT" "$WORK/web-tls.yml" https
TLS_URL="https://127.0.0.1:$TLS_PORT"

# The self-scrape (which cannot speak TLS without the CA) still writes `up`.
deadline=$((SECONDS + 20))
until curl -fsS --cacert "$C/ca.pem" "$TLS_URL/api/v1/series?match[]=up" | grep -q '"job":"homeostat"'; do
  if [ $SECONDS -ge $deadline ]; then fail "self-scrape under TLS wrote no 'up' in 20 s"; tail -20 "$WORK/tls.log"; break; fi
  sleep 0.5
done

cat > "$WORK/promtool-ca.yml" <<YAML
tls_config:
  ca_file: $C/ca.pem
YAML
# promtool_up HTTP-CONFIG URL: `promtool query instant` of up{job="homeostat"}.
# The HTTP config file (tls_config) needs promtool >= 2.43; Debian
# bookworm's 2.42 has no --http.config.file, so there the CA is given the
# way every Go client takes one, SSL_CERT_FILE (client certificates then
# cannot be given, and the mTLS promtool check is skipped).
if promtool query instant --help-long 2>&1 | grep -q -- '--http.config.file'; then
  PROMTOOL_HTTP_CONFIG=1
else
  PROMTOOL_HTTP_CONFIG=0
fi
promtool_up() { # HTTP-CONFIG URL
  if [ $PROMTOOL_HTTP_CONFIG = 1 ]; then
    promtool query instant --http.config.file="$1" "$2" 'up{job="homeostat"}'
  else
    SSL_CERT_FILE=$C/ca.pem promtool query instant "$2" 'up{job="homeostat"}'
  fi > "$WORK/promtool.out" 2>&1
  cat "$WORK/promtool.out"
  grep -Eq 'up\{.*job="homeostat".*\} => 1 @' "$WORK/promtool.out"
}
check "promtool query instant over TLS with the CA file" promtool_up "$WORK/promtool-ca.yml" "$TLS_URL"
refuse "promtool without the CA does not trust the server" \
  promtool query instant "$TLS_URL" 'up'
check "curl over TLS gets http_server_config.headers" \
  bash -c "curl -fsS -D - -o /dev/null --cacert '$C/ca.pem' '$TLS_URL/api/v1/status/buildinfo' | grep -qi '^strict-transport-security: max-age=63072000'"
refuse "plain HTTP on the TLS port is not served" \
  curl -fsS --max-time 5 "http://127.0.0.1:$TLS_PORT/-/ready"

# --- mTLS: RequireAndVerifyClientCert
MTLS_PORT=$(free_port)
cat > "$WORK/web-mtls.yml" <<YAML
tls_server_config:
  cert_file: $C/server.pem
  key_file: $C/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: $C/ca.pem
YAML
start mtls "$MTLS_PORT" "$WORK/web-mtls.yml" https
MTLS_URL="https://127.0.0.1:$MTLS_PORT"
refuse "mTLS: curl without a client certificate is refused" \
  curl -fsS --max-time 5 --cacert "$C/ca.pem" "$MTLS_URL/api/v1/status/buildinfo"
# A certificate the client CA did not issue is refused too.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/rogue.key" -out "$C/rogue.pem" \
  -days 2 -subj "/CN=ci-runner" >/dev/null 2>&1
refuse "mTLS: a self-signed client certificate is refused" \
  curl -fsS --max-time 5 --cacert "$C/ca.pem" --cert "$C/rogue.pem" --key "$C/rogue.key" "$MTLS_URL/api/v1/status/buildinfo"
check "mTLS: curl with a client certificate from the CA is served" \
  curl -fsS --max-time 5 --cacert "$C/ca.pem" --cert "$C/client.pem" --key "$C/client.key" "$MTLS_URL/api/v1/status/buildinfo"
cat > "$WORK/promtool-mtls.yml" <<YAML
tls_config:
  ca_file: $C/ca.pem
  cert_file: $C/client.pem
  key_file: $C/client.key
YAML
if [ $PROMTOOL_HTTP_CONFIG = 1 ]; then
  check "mTLS: promtool with tls_config cert_file/key_file" promtool_up "$WORK/promtool-mtls.yml" "$MTLS_URL"
else
  echo "skip: mTLS promtool check (promtool $(promtool --version 2>&1 | awk 'NR==1{print $3}') has no --http.config.file)"
  refuse "mTLS: promtool without a client certificate is refused" promtool_up "" "$MTLS_URL"
fi

# --- slowloris: 300 connections that never finish their headers
PLAIN_PORT=$(free_port)
start plain "$PLAIN_PORT" "" http
PLAIN_URL="http://127.0.0.1:$PLAIN_PORT"
# slowloris HOST PORT URL CURL-ARGS... [-- --tls]
slowloris() {
  local port=$1 url=$2 tls=$3; shift 3
  python3 tests/interop/slowloris.py 127.0.0.1 "$port" 300 5 $tls > "$WORK/slowloris.out" 2>&1 &
  local py=$!
  sleep 1.5
  # While the 300 hold their connections, a normal client is served.
  local t0=$SECONDS normal=0
  curl -fsS --max-time 5 "$@" "$url/api/v1/status/buildinfo" >/dev/null 2>&1 || normal=1
  local rc=0; wait $py || rc=$?
  cat "$WORK/slowloris.out" | sed 's/^/    /'
  [ $normal = 0 ] && [ $((SECONDS - t0)) -le 5 ] && [ $rc = 0 ]
}
check "300 slowloris connections closed within header_timeout (3s + 2s slack), a normal request served meanwhile" \
  slowloris "$PLAIN_PORT" "$PLAIN_URL" ""
check "the same over TLS" \
  slowloris "$TLS_PORT" "$TLS_URL" --tls --cacert "$C/ca.pem"
check "the timeouts are counted in /metrics" \
  bash -c "curl -fsS '$PLAIN_URL/metrics' | grep -Eq '^homeostat_http_connections_closed_by_timeout_total\{phase=\"header\"\} ([3-9][0-9]{2}|[0-9]{4,})'"

echo "$passed passed, $failed failed"
if [ $failed -gt 0 ]; then
  for n in tls mtls plain; do echo "--- $n log (tail)"; tail -20 "$WORK/$n.log"; done
  exit 1
fi
