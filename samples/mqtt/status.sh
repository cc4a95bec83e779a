#!/usr/bin/env bash
# Prints the retained status (birth) messages of edge-runtime nodes: which models they serve, limits, topics.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: status.sh [node]
  Prints "topic {json}" for the node's retained status message (docs/protocol.md "Status"), or for every node's when
  no node is given (NODE unset). Exit 0 when at least one status was found, 1 otherwise.
environment:
  MQTT_HOST, MQTT_PORT, NODE, TOPIC_PREFIX   see lib.sh (defaults 127.0.0.1, 1883, all nodes, edge)
  WAIT         seconds to collect retained messages when listing every node   default 2
USAGE
  exit 2
}
[[ $# -le 1 && ${1:-} != -h && ${1:-} != --help ]] || usage
. "$(dirname "$0")/lib.sh"
NODE=${1:-${NODE:-}}
WAIT=${WAIT:-2}
[[ $WAIT =~ ^[1-9][0-9]*$ ]] || die "WAIT is '$WAIT', expected whole seconds > 0"

found=0
if [[ -n $NODE ]]; then
  # One retained message arrives at once if the node ever announced itself.
  if line=$(mosquitto_sub "${CONN[@]}" -t "$TOPIC_PREFIX/$NODE/status" -F '%t %p' -C 1 -W "$WAIT" --retained-only 2>/dev/null); then
    echo "$line"
    found=1
  fi
else
  while IFS= read -r line; do
    echo "$line"
    found=1
  done < <(mosquitto_sub "${CONN[@]}" -t "$TOPIC_PREFIX/+/status" -F '%t %p' -W "$WAIT" --retained-only 2>/dev/null || true)
fi
[[ $found == 1 ]] || die "no status message on $TOPIC_PREFIX/${NODE:-+}/status at $MQTT_HOST:$MQTT_PORT"
