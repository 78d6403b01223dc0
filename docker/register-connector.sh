#!/bin/sh
# One-shot: waits for Kafka Connect's REST API, then creates or updates the
# Debezium source connector (PUT .../config is idempotent), and waits until it runs.
set -eu
CONNECT=${CONNECT_URL:-http://connect:8083}
until curl -fsS "$CONNECT/connectors" >/dev/null; do
  echo "waiting for Kafka Connect at $CONNECT"
  sleep 3
done
curl -fsS -X PUT -H 'Content-Type: application/json' \
  --data @/config/debezium-source.json "$CONNECT/connectors/inventory/config"
echo
for _ in $(seq 1 60); do
  if curl -fsS "$CONNECT/connectors/inventory/status" | grep -q '"state":"RUNNING"'; then
    echo "connector inventory is running"
    exit 0
  fi
  sleep 2
done
echo "connector inventory did not reach RUNNING" >&2
curl -sS "$CONNECT/connectors/inventory/status" >&2 || true
exit 1
