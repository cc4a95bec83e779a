# Shared by the scripts in samples/mqtt (sourced, not run). Bash only: no jq, no python.
#
# Settings (environment):
#   MQTT_HOST     broker host                       default 127.0.0.1
#   MQTT_PORT     broker port                       default 1883
#   NODE          node id                           default: the first online node on the retained status topic
#   TOPIC_PREFIX  topic root before the node id     default edge   (the service's Edge:TopicPrefix)
#   TIMEOUT       seconds to wait for a whole reply default 120

MQTT_HOST=${MQTT_HOST:-127.0.0.1}
MQTT_PORT=${MQTT_PORT:-1883}
TOPIC_PREFIX=${TOPIC_PREFIX:-edge}
TIMEOUT=${TIMEOUT:-120}
SCRIPT=$(basename "$0")

die() {
  echo "$SCRIPT: $*" >&2
  exit 1
}

for tool in mosquitto_pub mosquitto_sub; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found; install the mosquitto clients (apt-get install mosquitto-clients)"
done
[[ $MQTT_PORT =~ ^[0-9]+$ ]] || die "MQTT_PORT is '$MQTT_PORT', expected a port number"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "TIMEOUT is '$TIMEOUT', expected whole seconds > 0"

# MQTT 5 connection options shared by every client call.
CONN=(-V mqttv5 -h "$MQTT_HOST" -p "$MQTT_PORT")

# Sets NODE (unless set) to the first node whose retained status says "online":true (docs/protocol.md, Status).
discover_node() {
  [[ -n ${NODE:-} ]] && return 0
  local line fd pid
  exec {fd}< <(exec mosquitto_sub "${CONN[@]}" -t "$TOPIC_PREFIX/+/status" -F '%t %p' -W 5 --retained-only 2>/dev/null)
  pid=$!
  while IFS= read -r -u "$fd" line; do
    if [[ $line == *'"online":true'* ]]; then
      line=${line%% *}
      line=${line#"$TOPIC_PREFIX/"}
      NODE=${line%/status}
      break
    fi
  done
  kill "$pid" 2>/dev/null || true
  exec {fd}<&-
  [[ -n ${NODE:-} ]] || die "no online node on $TOPIC_PREFIX/+/status at $MQTT_HOST:$MQTT_PORT (is edge-runtime running? set MQTT_HOST/MQTT_PORT, or NODE)"
  echo "$SCRIPT: node '$NODE'" >&2
}

# json_escape TEXT: TEXT as a JSON string literal (quotes included).
json_escape() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

# json_string JSON KEY: prints the decoded string value of KEY (top level or nested, first match); 1 if absent.
# The service writes compact JSON, escaping only quotes, backslashes and control characters (\n, \t, \uXXXX...).
json_string() {
  local re="\"$2\":\"(([^\"\\\\]|\\\\.)*)\""
  [[ $1 =~ $re ]] || return 1
  local v=${BASH_REMATCH[1]}
  v=${v//\\\"/\"}
  v=${v//\\\//\/}
  printf '%b' "$v"
}

# json_value JSON KEY: prints the raw value of KEY when it is a number, true/false or a list of numbers; 1 if absent.
json_value() {
  local re="\"$2\":(\\[[][0-9eE.,+-]*\\]|[0-9eE.+-]+|true|false)"
  [[ $1 =~ $re ]] || return 1
  printf '%s' "${BASH_REMATCH[1]}"
}

# json_object JSON KEY: prints the raw value of KEY when it is an object without nested objects; 1 if absent.
json_object() {
  local re="\"$2\":(\\{[^{}]*\\})"
  [[ $1 =~ $re ]] || return 1
  printf '%s' "${BASH_REMATCH[1]}"
}

# request KIND PAYLOAD ID: sends PAYLOAD to $TOPIC_PREFIX/$NODE/KIND with an MQTT 5 response topic and correlation
# data ID, and calls on_reply with each reply (one JSON object per line) until the final one ("done":true).
# Returns on_reply's status for the final message. When no final message arrives within TIMEOUT seconds it dies, or
# returns 124 if NO_REPLY_OK=1 (cancel.sh: a cancel that worked has no reply of its own).
request() {
  local kind=$1 payload=$2 id=$3
  local reply="edge-sh/$$-$RANDOM$RANDOM/reply"
  local line fd pid status
  # The reply topic is subscribed before the request goes out: a retained marker on a second topic arrives as soon as
  # the subscription is in place (mosquitto_sub has no other "subscribed" signal). Its own errors are summed up by
  # die below ("could not subscribe", "no complete answer"), so its stderr is dropped (it says "Timed out" on -W).
  mosquitto_pub "${CONN[@]}" -q 1 -r -t "$reply/ready" -m ready || die "cannot reach the broker at $MQTT_HOST:$MQTT_PORT"
  exec {fd}< <(exec mosquitto_sub "${CONN[@]}" -q 1 -t "$reply" -t "$reply/ready" -F '%t %p' -W "$TIMEOUT" 2>/dev/null)
  pid=$!
  IFS= read -r -u "$fd" line && [[ $line == "$reply/ready ready" ]] || die "could not subscribe to '$reply' at $MQTT_HOST:$MQTT_PORT"
  mosquitto_pub "${CONN[@]}" -q 1 -r -n -t "$reply/ready"
  mosquitto_pub "${CONN[@]}" -q 1 -t "$TOPIC_PREFIX/$NODE/$kind" \
    -D publish response-topic "$reply" -D publish correlation-data "$id" -m "$payload" \
    || die "cannot publish to '$TOPIC_PREFIX/$NODE/$kind'"
  status=
  while IFS= read -r -u "$fd" line; do
    [[ $line == "$reply "* ]] || continue
    line=${line#"$reply "}
    if [[ $line == *'"done":true'* ]]; then
      on_reply "$line" && status=0 || status=$?
      break
    fi
    on_reply "$line" || true
  done
  kill "$pid" 2>/dev/null || true
  exec {fd}<&-
  if [[ -z $status ]]; then
    [[ ${NO_REPLY_OK:-0} == 1 ]] && return 124
    die "no complete answer to '$id' within $TIMEOUT s (TIMEOUT)"
  fi
  return "$status"
}

# report_final JSON: prints the final message's outcome to stderr; 1 for an error.
report_final() {
  local code
  if code=$(json_string "$1" code); then
    echo "$SCRIPT: error $code: $(json_string "$1" message)" >&2
    return 1
  fi
  echo "$SCRIPT: finish $(json_string "$1" finishReason) usage $(json_object "$1" usage || true) timings $(json_object "$1" timings || true)" >&2
}
