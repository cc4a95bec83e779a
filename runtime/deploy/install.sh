#!/usr/bin/env bash
# Installs edge-runtime as a systemd service (first version; bundles come later):
#   binary + shipped defaults -> /opt/edge-runtime, model -> /opt/edge-runtime/model,
#   configuration -> /etc/edge-runtime/appsettings.json (kept if it exists), unit -> /etc/systemd/system.
# Idempotent: running it again upgrades the binary, the model and the unit and keeps the configuration.
#
# Usage: sudo runtime/deploy/install.sh --from <publish dir> [--model <checkpoint dir>] [--root <dir>] [--no-start]
#   --from    directory with the NativeAOT 'edge-runtime' binary (dotnet publish runtime/EdgeRuntime.Service -c Release
#             -r linux-x64 -o <dir>); default: publish it now (needs the .NET SDK)
#   --model   checkpoint directory (config.json + *.safetensors [+ tokenizer]) to serve
#   --root    install under this directory instead of / (staging, tests); implies --no-start
#   --no-start  do not run systemctl
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
from="" model="" root="" start=1

while [ $# -gt 0 ]; do
  case "$1" in
    --from) from=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --root) root=${2%/}; start=0; shift 2 ;;
    --no-start) start=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (or pass --root <dir> to stage the files)" >&2
  exit 1
fi

if [ -z "$from" ]; then
  from=$(mktemp -d)
  trap 'rm -rf "$from"' EXIT
  echo "install.sh: publishing the NativeAOT binary to $from"
  dotnet publish "$repo/runtime/EdgeRuntime.Service" -c Release -r linux-x64 -o "$from"
fi
if [ ! -x "$from/edge-runtime" ]; then
  echo "install.sh: no executable '$from/edge-runtime' (publish with -r linux-x64 for a NativeAOT binary)" >&2
  exit 1
fi
if [ -n "$model" ] && [ ! -f "$model/config.json" ]; then
  echo "install.sh: '$model' is not a checkpoint directory (no config.json)" >&2
  exit 1
fi

opt="$root/opt/edge-runtime"
etc="$root/etc/edge-runtime"
unit_dir="$root/etc/systemd/system"

install -d -m 0755 "$opt" "$opt/docs" "$etc" "$unit_dir"
# Replace the binary atomically so a running service keeps its open file.
install -m 0755 "$from/edge-runtime" "$opt/.edge-runtime.new"
mv -f "$opt/.edge-runtime.new" "$opt/edge-runtime"
install -m 0644 "$repo/runtime/EdgeRuntime.Service/appsettings.json" "$opt/appsettings.json"
for doc in deploy.md protocol.md; do
  if [ -f "$repo/docs/$doc" ]; then install -m 0644 "$repo/docs/$doc" "$opt/docs/$doc"; fi
done

if [ -n "$model" ]; then
  rm -rf "$opt/model.new"
  install -d -m 0755 "$opt/model.new"
  cp -R "$model"/. "$opt/model.new/"
  chmod -R a+rX "$opt/model.new"
  rm -rf "$opt/model"
  mv "$opt/model.new" "$opt/model"
fi

if [ -f "$etc/appsettings.json" ]; then
  echo "install.sh: keeping the existing $etc/appsettings.json"
else
  install -m 0644 "$here/appsettings.json" "$etc/appsettings.json"
fi
install -m 0644 "$here/edge-runtime.service" "$unit_dir/edge-runtime.service"

if [ "$start" -eq 1 ]; then
  systemctl daemon-reload
  systemctl enable edge-runtime.service
  systemctl restart edge-runtime.service
  echo "install.sh: started; follow it with: journalctl -u edge-runtime -f"
else
  echo "install.sh: files installed under '${root:-/}'; not started"
fi
