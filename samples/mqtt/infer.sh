#!/usr/bin/env bash
# Sends one input vector (one step) to an edge-runtime node's sequence model (docs/protocol.md "infer") and prints
# the model's output for it.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: infer.sh v1 v2 ... vN
  Sends the N numbers (the model's inputLength, e.g. 5 for samples/models/aaren-motes.gguf: normalised humidity and
  temperature, their normalised changes, indoor; see samples/models/aaren-motes.md) as one step to edge/{node}/infer
  and prints the output vector, e.g. [0.12,-0.05]. With SESSION the step continues that session's state.
  Exit 0 on an answer, 1 on an error reply or timeout.
environment:
  SESSION      named session to continue (created on first use)   default: none (a fresh state)
  RESET        1: start SESSION afresh                             default: 0
  REQUEST_ID   request id                                          default: generated
  MQTT_HOST, MQTT_PORT, NODE, TOPIC_PREFIX, TIMEOUT   see lib.sh (defaults 127.0.0.1, 1883, discovered, edge, 120)
USAGE
  exit 2
}
[[ $# -ge 1 && $1 != -h && $1 != --help ]] || usage
. "$(dirname "$0")/lib.sh"

for v in "$@"; do
  [[ $v =~ ^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$ ]] || die "'$v' is not a number"
done
values=$(IFS=,; echo "$*")
payload="{\"values\":[[$values]]"
[[ -z ${SESSION:-} ]] || payload+=",\"session\":$(json_escape "$SESSION")"
[[ ${RESET:-0} != 1 ]] || payload+=",\"reset\":true"
payload+="}"

discover_node
id=${REQUEST_ID:-sh-$$-$RANDOM}

on_reply() {
  local outputs
  report_final "$1" || return 1
  outputs=$(json_value "$1" outputs) || { echo "$SCRIPT: the reply has no outputs: $1" >&2; return 1; }
  # One step in, one step out: print the inner list.
  outputs=${outputs#[}
  echo "${outputs%]}"
}
request infer "$payload" "$id"
