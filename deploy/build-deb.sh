#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the sinkholed Debian package from this working tree and leaves the .deb files in
# OUTDIR (default: the current directory):
#   bash deploy/build-deb.sh [OUTDIR]
# The tree is copied first (tracked and new files, without build directories or anything
# .gitignore'd), deploy/debian is placed there as debian/, and dpkg-buildpackage builds
# the binary package unsigned. The repository itself is never written to. Needs the
# packages of deploy/install-deps.sh; ccache, when installed, makes rebuilds quick.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
outdir=${1:-.}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/sinkholed-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
src="$work/sinkholed"
mkdir "$src"

# The files to package: what git knows (committed or new, not ignored) when this is a
# checkout, else everything but build directories.
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do
      # Deleted in the working tree but still in the index: nothing to copy.
      if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
    done | tar --null -T - -cf -) | tar -xf - -C "$src"
else
  tar -C "$repo" --exclude='./build*' --exclude='./.git' -cf - . | tar -xf - -C "$src"
fi
rm -rf "$src/debian"
cp -a "$src/deploy/debian" "$src/debian"

jobs=$(nproc 2>/dev/null || echo 2)
if command -v ccache >/dev/null 2>&1; then
  # Each build runs in a new temp dir: hash paths relative to it so the cache still hits.
  export CCACHE_BASEDIR="$src" CCACHE_NOHASHDIR=1
  # debhelper (compat 13) points HOME at a fresh directory inside the build tree, which
  # would give ccache an empty cache every time: name the real one.
  CCACHE_DIR=${CCACHE_DIR:-$(ccache -k cache_dir)}
  export CCACHE_DIR
fi
echo "build-deb: building in $src"
(cd "$src" && dpkg-buildpackage -b -us -uc -j"$jobs")

shopt -s nullglob
debs=("$work"/*.deb)
if [ ${#debs[@]} -eq 0 ]; then
  echo "build-deb: dpkg-buildpackage produced no .deb" >&2
  exit 1
fi
cp "${debs[@]}" "$outdir"/
for f in "$work"/*.buildinfo "$work"/*.changes; do cp "$f" "$outdir"/; done
for d in "${debs[@]}"; do echo "build-deb: $outdir/$(basename "$d")"; done
