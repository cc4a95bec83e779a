#!/usr/bin/env bash
# Trains both sample models on one GPU, as they were trained for samples/models/ (see the model cards there):
#   - the Aaren forecaster: six train_aaren.py variants side by side; the one with the lowest loss ratio on the
#     validation tail of the TRAINING motes is kept (the held-out motes play no part in the choice);
#   - the BASED LM: three train_based.py runs that differ only in dropout and schedule length, side by side; the run
#     with the lowest held-out loss is kept (so the held-out split also chose the run: see the LM card).
#
#   ./fetch_data.sh && ./train_all.sh [out-dir] [minutes-per-LM-run]
#   ONLY=aaren ./train_all.sh out     # or ONLY=lm
#
# All LM runs share one tokenizer, trained first by train_based.py --tokenizer-only on the training split (8192 tokens).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="${DATA_DIR:-$here/data}"
out="${1:-$here/out}"
minutes="${2:-4.3}"
only="${ONLY:-all}"
mkdir -p "$out"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS="${OMP_NUM_THREADS:-4}"

pids=()
if [[ $only != lm ]]; then
  small="--d-model 32 --layers 2 --mlp 64"
  variants=("v1 $small --lr 3e-4 --steps 2000" "v2 $small --lr 1e-3 --steps 1000" "v3 --lr 3e-4 --steps 1500"
            "v4 --d-model 16 --layers 1 --heads 2 --mlp 32 --lr 1e-3 --steps 2000" "v5 $small --lr 3e-4 --steps 2000 --level-aug 0"
            "v6 --lr 1e-4 --steps 3000")
  for v in "${variants[@]}"; do
    read -r name rest <<<"$v"
    # shellcheck disable=SC2086
    python3 "$here/train_aaren.py" --data "$data" --out "$out/aaren-$name" --seconds 150 --weight-decay 0.1 --level-aug 1.0 $rest >"$out/aaren-$name.log" 2>&1 &
    pids+=($!)
  done
fi
if [[ $only != aaren ]]; then
  python3 "$here/train_based.py" --data "$data" --out "$out/tokenizer" --tokenizer-only
  runs=("a 0.1 8" "b 0.2 16" "c 0.3 24")
  for r in "${runs[@]}"; do
    read -r name dropout epochs <<<"$r"
    python3 "$here/train_based.py" --data "$data" --out "$out/based-$name" --tokenizer "$out/tokenizer" \
      --dropout "$dropout" --epochs "$epochs" --minutes "$minutes" --golden-len 160 >"$out/based-$name.log" 2>&1 &
    pids+=($!)
  done
fi
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
tail -n 2 "$out"/*.log
[[ $status == 0 ]] || { echo "train_all: a run failed" >&2; exit 1; }

python3 - "$out" "$only" <<'PY'
import json, os, shutil, sys
out, only = sys.argv[1], sys.argv[2]

def keep(prefix, names, key, fields, dst):
    runs = {}
    for n in names:
        m = json.load(open(os.path.join(out, f"{prefix}-{n}", "metrics.json")))
        runs[n] = {f: m.get(f) for f in fields} | {"args": m["args"]}
    best = min(runs, key=lambda n: runs[n][key])
    shutil.rmtree(os.path.join(out, dst), ignore_errors=True)
    shutil.copytree(os.path.join(out, f"{prefix}-{best}"), os.path.join(out, dst))
    return {"selected_by": key, "chosen": best, "runs": runs}

sweep = {}
if only != "lm":
    sweep["aaren"] = keep("aaren", ["v1", "v2", "v3", "v4", "v5", "v6"], "val_ratio",
                          ["parameters", "steps", "best_step", "val_ratio", "mae_heldout"], "aaren-motes")
if only != "aaren":
    sweep["based"] = keep("based", ["a", "b", "c"], "val_loss",
                          ["parameters", "steps", "best_step", "epochs_seen", "val_loss", "val_perplexity"], "based-moby")
json.dump(sweep, open(os.path.join(out, f"sweep-{only}.json"), "w"), indent=2)
print(json.dumps({k: {"chosen": v["chosen"], "runs": {n: {f: r[f] for f in r if f not in ("args", "mae_heldout")} for n, r in v["runs"].items()}} for k, v in sweep.items()}, indent=1))
PY
