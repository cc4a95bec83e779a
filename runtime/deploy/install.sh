#!/usr/bin/env bash
# Installs an edge-runtime bundle (made by `edgefw bundle`; see docs/deploy.md). Run it from the unpacked bundle:
#   tar xzf edge-runtime-linux-arm64.tar.gz && sudo edge-runtime-linux-arm64/install.sh
#
# 1. Checks every file against SHA256SUMS before touching anything (a bad download installs nothing).
# 2. Installs to /opt/edge-runtime: the binary, the model under models/; the configuration (Model:Path pointing at that
#    model) to /etc/edge-runtime/appsettings.json; the systemd unit to /etc/systemd/system/edge-runtime.service.
# 3. When systemd runs (and not --root / --no-start): daemon-reload, enable, and (re)start the unit when anything changed.
# Idempotent: a second run of the same bundle changes nothing. A configuration the operator edited since install.sh wrote
# it is never overwritten silently: the run stops before installing anything unless --keep-config (keep yours) or
# --force (replace it; yours is kept as appsettings.json.bak) is given.
#
# Usage: install.sh [--root <dir>] [--no-start] [--force | --keep-config]
#   --root <dir>    install under <dir> instead of / (staging, images, tests); implies --no-start; skips the CPU check
#   --no-start      do not call systemctl
#   --force         replace a configuration the operator changed (the old one becomes appsettings.json.bak)
#   --keep-config   keep a changed configuration and install everything else
# Exit codes: 0 installed (or already up to date), 1 failure (nothing or, after the checks, only whole files replaced),
# 2 usage.
set -euo pipefail

bundle=$(cd "$(dirname "$0")" && pwd)
root="" start=1 force=0 keep=0

die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || { echo "install.sh: --root needs a directory" >&2; exit 2; }
            root=${2%/}; start=0; shift 2 ;;
    --no-start) start=0; shift ;;
    --force) force=1; shift ;;
    --keep-config) keep=1; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$force" -eq 1 ] && [ "$keep" -eq 1 ]; then echo "install.sh: --force and --keep-config exclude each other" >&2; exit 2; fi

# --- 1. integrity, before anything else ---
[ -f "$bundle/SHA256SUMS" ] || die "no SHA256SUMS beside install.sh in '$bundle': run install.sh from an unpacked bundle (edgefw bundle)"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found (coreutils)"
if ! ( cd "$bundle" && sha256sum --check --quiet --strict SHA256SUMS ) >&2; then
  die "the bundle in '$bundle' does not match its SHA256SUMS (corrupt or incomplete download); nothing was installed"
fi
for f in edge-runtime edge-runtime.service appsettings.json; do
  grep -q "  $f\$" "$bundle/SHA256SUMS" || die "SHA256SUMS does not list '$f'; not a complete bundle"
done
model_entry=$(sed -n 's|^[0-9a-f]\{64\}  models/\([^/]*\).*$|\1|p' "$bundle/SHA256SUMS" | sort -u)
[ -n "$model_entry" ] || die "the bundle holds no model (models/ in SHA256SUMS)"
[ "$(printf '%s\n' "$model_entry" | wc -l)" -eq 1 ] || die "the bundle holds more than one model: $(echo $model_entry)"

if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then die "run as root (or pass --root <dir> to stage the files)"; fi

# The binary's CPU (ELF e_machine at offset 18: 62 = x86-64, 183 = aarch64) against this machine's.
elf_machine=$(od -An -tu2 -j18 -N2 "$bundle/edge-runtime" | tr -d ' ')
case "$elf_machine" in 62) bin_arch=x86_64 ;; 183) bin_arch=aarch64 ;; *) die "edge-runtime is not an x86-64 or aarch64 ELF binary (e_machine $elf_machine)" ;; esac
if [ -z "$root" ] && [ "$(uname -m)" != "$bin_arch" ]; then
  die "this bundle is for $bin_arch, this machine is $(uname -m); use the bundle of this machine's architecture"
fi

opt="$root/opt/edge-runtime"
etc="$root/etc/edge-runtime"
unit_dir="$root/etc/systemd/system"
config="$etc/appsettings.json"
record="$opt/.installed-config.sha256"   # hash of the configuration install.sh last wrote
new_config_hash=$(sha256sum "$bundle/appsettings.json" | cut -d' ' -f1)

# --- 2. preflight: a configuration the operator changed ---
config_action=install
if [ -f "$config" ]; then
  current=$(sha256sum "$config" | cut -d' ' -f1)
  installed=$(cat "$record" 2>/dev/null || true)
  if [ "$current" = "$new_config_hash" ]; then
    config_action=same
  elif [ -n "$installed" ] && [ "$current" = "$installed" ]; then
    config_action=install  # untouched since the last install: take the new one
  elif [ "$keep" -eq 1 ]; then
    config_action=keep
  elif [ "$force" -eq 1 ]; then
    config_action=force
  else
    die "$config was changed since it was installed and differs from this bundle's; nothing was installed.
  Keep yours and install the rest:     $0 --keep-config
  Replace it (yours -> .bak):           $0 --force
  Compare: diff $config $bundle/appsettings.json"
  fi
fi

# --- 3. install (each file replaced whole: written beside its target, then renamed) ---
changed=0
install -d -m 0755 "$opt" "$opt/models" "$etc" "$unit_dir"

# put <src> <dest> <mode>: replaces dest when its content differs.
put() {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then echo "install.sh: unchanged $2"; return 0; fi
  install -m "$3" "$1" "$2.new.$$"
  mv -f "$2.new.$$" "$2"
  echo "install.sh: installed $2"
  changed=1
}

put "$bundle/edge-runtime" "$opt/edge-runtime" 0755

src_model="$bundle/models/$model_entry"
dst_model="$opt/models/$model_entry"
if [ -f "$src_model" ]; then
  put "$src_model" "$dst_model" 0644
elif [ -d "$dst_model" ] && diff -r -q "$src_model" "$dst_model" >/dev/null 2>&1; then
  echo "install.sh: unchanged $dst_model/"
else
  rm -rf "$dst_model.new.$$"
  cp -R "$src_model" "$dst_model.new.$$"
  chmod -R u=rwX,go=rX "$dst_model.new.$$"
  rm -rf "$dst_model"
  mv "$dst_model.new.$$" "$dst_model"
  echo "install.sh: installed $dst_model/"
  changed=1
fi

case "$config_action" in
  same) echo "install.sh: unchanged $config"
        [ "$(cat "$record" 2>/dev/null || true)" = "$new_config_hash" ] || echo "$new_config_hash" > "$record" ;;
  keep) echo "install.sh: keeping your changed $config (--keep-config); this bundle's is $bundle/appsettings.json" ;;
  force) cp -p "$config" "$config.bak"; echo "install.sh: saved your configuration as $config.bak"
         put "$bundle/appsettings.json" "$config" 0644; echo "$new_config_hash" > "$record" ;;
  install) put "$bundle/appsettings.json" "$config" 0644; echo "$new_config_hash" > "$record" ;;
esac

put "$bundle/edge-runtime.service" "$unit_dir/edge-runtime.service" 0644

# --- 4. systemd ---
if [ "$start" -eq 1 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
  systemctl enable edge-runtime.service
  if [ "$changed" -eq 1 ] || ! systemctl is-active --quiet edge-runtime.service; then
    systemctl restart edge-runtime.service
    echo "install.sh: started edge-runtime.service; follow it with: journalctl -u edge-runtime -f"
  else
    echo "install.sh: edge-runtime.service already running this bundle"
  fi
elif [ "$start" -eq 1 ]; then
  echo "install.sh: systemd is not running here; start it by hand: CONFIGURATION_DIRECTORY=$etc $opt/edge-runtime"
else
  echo "install.sh: installed under '${root:-/}'; not started"
fi
[ "$changed" -eq 1 ] || echo "install.sh: already up to date"
