#!/usr/bin/env bash
# The PostgreSQL state backend end to end: homeostat serves with
# `state.backend: postgres`, a silence created through the API survives a
# restart, the DSN's password shows nowhere (log, runtimeinfo), an
# unreachable server fails start-up naming host and database, and
# `homeostat state migrate` copies a SQLite state into PostgreSQL.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib.bash
source tests/interop/pg.bash
require_peer curl command -v curl

PASS=0; FAIL=0
ok() { echo "ok: $1"; PASS=$((PASS + 1)); }
bad() { echo "FAIL: $1"; FAIL=$((FAIL + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

start_pg >/dev/null || { echo "FAIL: PostgreSQL did not start"; echo "0 passed, 1 failed"; exit 1; }
# Trust auth ignores the password; it is there to be looked for.
PW=pgSecretPw4e1d
printf 'postgres://postgres:%s@127.0.0.1:%s/homeostat\n' "$PW" "$PG_PORT" > "$WORK/dsn"
cat > "$WORK/pg.yaml" <<YAML
self_scrape: false
state:
  backend: postgres
  dsn_file: dsn
  pool_size: 2
YAML
HS_PORT=$(free_port)
HS="http://127.0.0.1:$HS_PORT"
serve() { # CONFIG DATA_DIR
  "$HOMEOSTAT" serve --config "$1" --listen "127.0.0.1:$HS_PORT" --data-dir "$2" >> "$WORK/homeostat.log" 2>&1 &
  HS_PID=$!; PIDS+=($HS_PID)
  wait_http "$HS/-/ready" 30 || { cat "$WORK/homeostat.log"; return 1; }
}
stop() { kill "$HS_PID"; wait "$HS_PID" 2>/dev/null; }
silence() { # COMMENT
  curl -fsS -H 'Content-Type: application/json' -d "{\"matchers\":[{\"name\":\"job\",\"value\":\"api\",\"isRegex\":false,\"isEqual\":true}],\"startsAt\":\"2030-01-01T00:00:00Z\",\"endsAt\":\"2030-01-02T00:00:00Z\",\"createdBy\":\"interop\",\"comment\":\"$1\"}" "$HS/api/v2/silences"
}

serve "$WORK/pg.yaml" "$WORK/d1"
check "a silence is created on the postgres backend" bash -c "$(declare -f silence); HS=$HS; silence kept-in-pg | grep -q silenceID"
curl -fsS "$HS/api/v1/status/runtimeinfo" > "$WORK/rt.json"
check "runtimeinfo names the backend with the password masked" \
  bash -c "grep -q '\"stateBackend\":\"postgres://postgres@127.0.0.1:$PG_PORT/homeostat\"' '$WORK/rt.json' && ! grep -q $PW '$WORK/rt.json'"
stop
serve "$WORK/pg.yaml" "$WORK/d1-other"
check "the silence survives a restart (and a fresh data_dir)" \
  bash -c "curl -fsS '$HS/api/v2/silences' | grep -q kept-in-pg"
stop
check "rows are in postgres" \
  bash -c "[ \"\$('$PG_BIN/psql' -h '$PG_DIR' -p $PG_PORT -U postgres -d homeostat -Atc 'SELECT count(*) FROM silences')\" = 1 ]"

# Unreachable: port 1 refuses at once.
cat > "$WORK/down.yaml" <<YAML
self_scrape: false
state: {backend: postgres, dsn: 'postgres://hs:$PW@127.0.0.1:1/statedb', connect_timeout: 2s}
YAML
"$HOMEOSTAT" serve --config "$WORK/down.yaml" --listen "127.0.0.1:$HS_PORT" --data-dir "$WORK/d2" > "$WORK/down.log" 2>&1
code=$?
check "an unreachable postgres fails start-up" [ "$code" -ne 0 ]
check "the error names host and database" grep -q '127.0.0.1:1/statedb' "$WORK/down.log"
check "the password is in no log" bash -c "! grep -q $PW '$WORK/down.log' '$WORK/homeostat.log'"

# Migrate: a SQLite state with a silence, into a new postgres database.
cat > "$WORK/sqlite.yaml" <<YAML
self_scrape: false
YAML
serve "$WORK/sqlite.yaml" "$WORK/d3"
silence from-sqlite > /dev/null
# While the source server runs: SQLite's WAL lets both read and write.
TARGET=$(pg_createdb migrated)
HOMEOSTAT_STATE_DSN="$TARGET" "$HOMEOSTAT" state migrate --from "sqlite:$WORK/d3" --to postgres: > "$WORK/migrate.out" 2>&1
code=$?
cat "$WORK/migrate.out"
check "state migrate sqlite -> postgres succeeds" [ "$code" -eq 0 ]
check "it reports per-store counts" grep -q 'silences: 1 copied' "$WORK/migrate.out"
HOMEOSTAT_STATE_DSN="$TARGET" "$HOMEOSTAT" state migrate --from "sqlite:$WORK/d3" --to postgres: > "$WORK/again.out" 2>&1
code=$?
check "a non-empty target is refused without --force" bash -c "[ $code -ne 0 ] && grep -q -- --force '$WORK/again.out'"
stop
printf '%s\n' "$TARGET" > "$WORK/dsn-migrated"
cat > "$WORK/migrated.yaml" <<YAML
self_scrape: false
state: {backend: postgres, dsn_file: dsn-migrated}
YAML
serve "$WORK/migrated.yaml" "$WORK/d4"
check "the migrated silence is served from postgres" \
  bash -c "curl -fsS '$HS/api/v2/silences' | grep -q from-sqlite"
stop

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
