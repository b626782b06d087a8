# A throwaway PostgreSQL for interop scripts (source after lib.bash).
#
#   start_pg          # not in $(...): it registers its processes for cleanup
#   echo "$PG_DSN"    # host=<socket dir> port=N user=postgres dbname=homeostat
#   echo "$PG_URL"    # postgres://postgres@127.0.0.1:N/homeostat
#   pg_createdb NAME  # another empty database; prints its key=value DSN
#
# initdb into $WORK/pg, the server on a Unix socket there and a free port
# on 127.0.0.1, trust auth, no fsync. PostgreSQL refuses to run as root: as
# uid 0 it runs as the `postgres` user (runuser), which owns the directory.
# A missing PostgreSQL fails under CI=true (require_peer) and skips
# otherwise; scripts/install-peers.sh installs the Debian package.

pg_bindir() {
  local d
  for d in "$(pg_config --bindir 2>/dev/null)" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -rn); do
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then echo "$d"; return 0; fi
  done
  return 1
}

start_pg() {
  require_peer postgresql pg_bindir
  PG_BIN=$(pg_bindir)
  local dir="$WORK/pg" run=()
  PG_PORT=$(free_port)
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chmod 711 "$WORK"
    chown postgres: "$dir"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync \
    > "$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; return 1; }
  "${run[@]}" "$PG_BIN/postgres" -D "$dir/data" -k "$dir" -p "$PG_PORT" \
    -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
    -c full_page_writes=off -c max_connections=200 > "$dir/postgres.log" 2>&1 &
  PIDS+=($!)
  local deadline=$((SECONDS + 30))
  until "$PG_BIN/pg_isready" -q -h "$dir" -p "$PG_PORT"; do
    if [ $SECONDS -ge $deadline ]; then cat "$dir/postgres.log"; return 1; fi
    sleep 0.2
  done
  # The postmaster itself, so cleanup stops it even if runuser does not
  # pass the signal on.
  PIDS+=($(head -1 "$dir/data/postmaster.pid"))
  PG_DIR=$dir
  "$PG_BIN/createdb" -h "$dir" -p "$PG_PORT" -U postgres homeostat
  export PG_BIN PG_DIR PG_PORT
  export PG_DSN="host=$dir port=$PG_PORT user=postgres dbname=homeostat"
  export PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/homeostat"
  echo "$PG_DSN"
}

pg_createdb() { # NAME
  "$PG_BIN/createdb" -h "$PG_DIR" -p "$PG_PORT" -U postgres "$1"
  echo "host=$PG_DIR port=$PG_PORT user=postgres dbname=$1"
}
