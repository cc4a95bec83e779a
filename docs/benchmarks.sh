#!/usr/bin/env bash
# Reproduces the tables of docs/benchmarks.md: synthesizes the published-shape checkpoints, converts them to GGUF q8_0 and
# q4_0, runs `edgefw bench --json` for every (preset, type, threads) and prints one markdown row per run (raw JSON in
# $OUT/results.jsonl). Needs bash, jq and the .NET SDK. Usage:
#   docs/benchmarks.sh [--presets "based-360m based-1b:9"] [--types "f32 q8_0 q4_0"] [--threads "1 2"] [--reps 5]
#                      [--depths "0,4096,32768"] [--depth-fill prefill|tail] [--rt] [--out DIR]
# A preset written name:N is shrunk to its first N layers (edgefw synth --layers N). --rt runs each bench under
# `chrt -f 1` (SCHED_FIFO; needs root): on a shared machine the only way to get the cores, at the price of the kernel's
# RT throttling (5% of each second left to other tasks). Check `uptime` first: on a loaded machine the numbers mean nothing.
set -euo pipefail

presets="based-360m based-1b transnormer-385m transnormer-1b aaren-small"
rt=()
types="f32 q8_0 q4_0"
threads="1 2"
reps=5
depths=""
depth_fill="prefill"
out="${TMPDIR:-/tmp}/edgert-bench"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --presets) presets="$2"; shift 2 ;;
    --types) types="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rt) rt=(chrt -f 1); shift ;;
    --reps) reps="$2"; shift 2 ;;
    --depths) depths="$2"; shift 2 ;;
    --depth-fill) depth_fill="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
dotnet build "$root/firmware-tools/EdgeRuntime.Tools" -c Release -nologo -v q >&2
edgefw="$root/firmware-tools/EdgeRuntime.Tools/bin/Release/net10.0/edgefw"
mkdir -p "$out"
echo "# $(date -u +%FT%TZ) $(uname -m) $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

echo "| model | type | threads | weight MB/token | pp512 t/s | prefill GFLOP/s (% of GEMM peak) | tg128 t/s | decode GB/s | read GB/s (best) | roofline | peak RSS MiB | alloc B/step |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for spec in $presets; do
  preset="${spec%%:*}"
  layers_arg=()
  name="$preset"
  if [[ "$spec" == *:* ]]; then layers_arg=(--layers "${spec##*:}"); name="$preset-l${spec##*:}"; fi
  dir="$out/$name"
  [[ -f "$dir/model.safetensors" ]] || "$edgefw" synth --preset "$preset" -o "$dir" "${layers_arg[@]}" 2>/dev/null >&2
  for type in $types; do
    model="$dir"
    if [[ "$type" != "f32" ]]; then
      model="$out/$name-$type.gguf"
      [[ -f "$model" ]] || "$edgefw" convert "$dir" -o "$model" --type "$type" --json >/dev/null 2>&1
    fi
    for t in $threads; do
      json="$("${rt[@]}" "$edgefw" bench "$model" --threads "$t" --json --membw --peak --reps "$reps" --depths "$depths" --depth-fill "$depth_fill" 2>/dev/null)"
      echo "$json" | jq -c --arg preset "$name" --arg type "$type" '. + {preset: $preset, type: $type, load: "'"$(cut -d' ' -f1 /proc/loadavg)"'"}' >> "$out/results.jsonl"
      echo "$json" | jq -r --arg preset "$name" --arg type "$type" '
        "| \($preset) | \($type) | \(.threads) | \(.weightBytesPerToken / 1e6 | floor) | \(.pp512.tokensPerSecond * 100 | round / 100) ± \(.pp512.sd * 100 | round / 100) | \(.prefillGflops * 10 | round / 10) (\(.prefillGflops / .gemmPeakGflops * 1000 | round / 10)% of \(.gemmPeakGflops | round)) | \(.tg128.tokensPerSecond * 100 | round / 100) ± \(.tg128.sd * 100 | round / 100) | \(.tg128.effectiveBandwidthGBs * 100 | round / 100) | \(.memoryBandwidthGBs * 100 | round / 100) | \(.tg128.effectiveBandwidthGBs / .memoryBandwidthGBs * 1000 | round / 10)% | \(.peakRssBytes / 1048576 | round) | \(.allocatedBytesPerStep) |"'
    done
  done
done
