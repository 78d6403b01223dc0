# Shell functions that start a throwaway PostgreSQL 15 and a dev broker for the
# demo and the benchmarks. Source it, then call start_postgres / start_broker;
# stop_services (registered on EXIT) tears both down.
# Requires: SERVICES_DIR (a directory it may fill), SLUICE_BUILD (build dir).

PG_BIN=/usr/lib/postgresql/15/bin

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# start_postgres: sets PG_PORT and PG_URL.
start_postgres() {
  local dir="$SERVICES_DIR/pg"
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
  as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$SERVICES_DIR/initdb.log" 2>&1
  PG_PORT=$(free_port)
  as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/server.log" \
    -o "-p $PG_PORT -k $dir -h 127.0.0.1 -c fsync=off -c synchronous_commit=off ${PG_EXTRA_OPTIONS:-}" start >/dev/null
  PG_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
  STARTED_PG_DIR="$dir/data"
}

# start_broker ARGS...: sets BOOTSTRAP and BROKER_CONTROL.
start_broker() {
  "$SLUICE_BUILD/connectors/kafka/sluice-dev-broker" --address-file "$SERVICES_DIR/bootstrap" \
    --control-file "$SERVICES_DIR/control" "$@" >"$SERVICES_DIR/broker.out" 2>"$SERVICES_DIR/broker.err" &
  BROKER_PID=$!
  for _ in $(seq 1 200); do
    [ -s "$SERVICES_DIR/control" ] && break
    sleep 0.05
  done
  BOOTSTRAP=$(cat "$SERVICES_DIR/bootstrap")
  BROKER_CONTROL=$(cat "$SERVICES_DIR/control")
}

stop_services() {
  if [ -n "${BROKER_PID:-}" ]; then kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; fi
  if [ -n "${STARTED_PG_DIR:-}" ]; then as_postgres "$PG_BIN/pg_ctl" -D "$STARTED_PG_DIR" -m immediate stop >/dev/null 2>&1 || true; fi
}
