#!/bin/sh
# Regenerates expected.json from the sentencepiece CLI (Debian package sentencepiece 0.1.97-3).
# Each line of texts.txt is one case; spm_encode/spm_decode are the independent reference.
set -eu
cd "$(dirname "$0")"
python3 - <<'PY'
import json, subprocess
texts = open("texts.txt", encoding="utf-8").read().split("\n")
texts = [t for t in texts if t != ""]
def run(args, text):
    return subprocess.run(args, input=text + "\n", capture_output=True, text=True, check=True).stdout.rstrip("\n")
cases = []
for t in texts:
    pieces = run(["spm_encode", "--model=tiny.model", "--output_format=piece"], t).split(" ")
    ids = [int(x) for x in run(["spm_encode", "--model=tiny.model", "--output_format=id"], t).split(" ")]
    decoded = run(["spm_decode", "--model=tiny.model", "--input_format=id"], " ".join(map(str, ids)))
    cases.append({"text": t, "pieces": pieces, "ids": ids, "decoded": decoded})
# Decoding edge cases: unknown piece, control symbols, a lone "▁", byte pieces at the start.
decode_ids = [[0], [0, 261], [261, 0], [1, 261, 2], [319, 261], [35, 261], [243, 162, 157, 131, 261], [1, 319, 319, 259]]
decode_cases = [{"ids": ids, "decoded": run(["spm_decode", "--model=tiny.model", "--input_format=id"], " ".join(map(str, ids)))}
                for ids in decode_ids]
json.dump({"reference": "spm_encode/spm_decode (sentencepiece 0.1.97, Debian) with tiny.model",
           "cases": cases, "decode_cases": decode_cases},
          open("expected.json", "w", encoding="utf-8"), ensure_ascii=False, indent=1)
PY
