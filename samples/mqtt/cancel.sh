#!/usr/bin/env bash
# Cancels a queued or running request on an edge-runtime node (docs/protocol.md "cancel").
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: cancel.sh request-id
  Sends {"id": request-id} to edge/{node}/cancel. The cancelled request ends with finish reason "cancelled" on its
  own reply topic; a cancel that matches nothing is answered with not_found. Exit 0 when no error came back within
  CANCEL_WAIT seconds, 1 on an error reply.
environment:
  CANCEL_WAIT  seconds to wait for an error reply   default 2
  MQTT_HOST, MQTT_PORT, NODE, TOPIC_PREFIX   see lib.sh (defaults 127.0.0.1, 1883, discovered, edge)
USAGE
  exit 2
}
[[ $# -eq 1 && $1 != -h && $1 != --help ]] || usage
CANCEL_WAIT=${CANCEL_WAIT:-2}
TIMEOUT=$CANCEL_WAIT
. "$(dirname "$0")/lib.sh"

discover_node
on_reply() { report_final "$1"; }
NO_REPLY_OK=1
status=0
request cancel "{\"id\":$(json_escape "$1")}" "cancel-$$-$RANDOM" || status=$?
case $status in
  0) ;;
  124) echo "$SCRIPT: cancel of '$1' sent to $TOPIC_PREFIX/$NODE/cancel; no error within $CANCEL_WAIT s" >&2 ;;
  *) exit 1 ;;
esac
