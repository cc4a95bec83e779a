#!/usr/bin/env bash
# Streams a continuation of a prompt from an edge-runtime node (MQTT 5 request/response, docs/protocol.md "generate").
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: generate.sh "prompt"
  Sends the prompt to edge/{node}/generate and prints the text as it streams back; the finish reason, usage and
  timings go to stderr. Exit 0 when the answer finished (stop, length or cancelled), 1 on an error reply or timeout.
environment:
  MAX_TOKENS   most tokens to generate     default 64
  TEMPERATURE  sampling temperature        default 0.8 (0 = greedy)
  SEED         sampler seed                default: random (the service picks one)
  SESSION      named session to continue   default: none
  REQUEST_ID   request id (what cancel.sh names)   default: generated
  MQTT_HOST, MQTT_PORT, NODE, TOPIC_PREFIX, TIMEOUT   see lib.sh (defaults 127.0.0.1, 1883, discovered, edge, 120)
USAGE
  exit 2
}
[[ $# -eq 1 && $1 != -h && $1 != --help ]] || usage
. "$(dirname "$0")/lib.sh"

MAX_TOKENS=${MAX_TOKENS:-64}
TEMPERATURE=${TEMPERATURE:-0.8}
[[ $MAX_TOKENS =~ ^[0-9]+$ ]] || die "MAX_TOKENS is '$MAX_TOKENS', expected an integer >= 0"
[[ $TEMPERATURE =~ ^[0-9]+([.][0-9]+)?$ ]] || die "TEMPERATURE is '$TEMPERATURE', expected a number >= 0"
payload="{\"prompt\":$(json_escape "$1"),\"maxTokens\":$MAX_TOKENS,\"temperature\":$TEMPERATURE"
if [[ -n ${SEED:-} ]]; then
  [[ $SEED =~ ^[0-9]+$ ]] || die "SEED is '$SEED', expected an unsigned integer"
  payload+=",\"seed\":$SEED"
fi
[[ -z ${SESSION:-} ]] || payload+=",\"session\":$(json_escape "$SESSION")"
payload+="}"

discover_node
id=${REQUEST_ID:-sh-$$-$RANDOM}
echo "$SCRIPT: request '$id' on $TOPIC_PREFIX/$NODE/generate" >&2

on_reply() {
  local text
  if text=$(json_string "$1" text); then printf '%s' "$text"; fi
  if [[ $1 == *'"done":true'* ]]; then
    echo
    report_final "$1"
  fi
}
request generate "$payload" "$id"
