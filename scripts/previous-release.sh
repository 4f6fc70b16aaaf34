#!/usr/bin/env bash
# Builds (once) the server of the release before the journal, for the
# rolling-deploy drill (tests/drills/rolling.rs), and prints its path:
# commit 141ca1a, the last before issue 21, from this repository's history.
# Its own target directory (target/previous/), so the current build's
# artifacts are never touched; the first build takes a few minutes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
commit=141ca1a86dfa3ce87e1086a4f7ba60f669ed3550
short=${commit:0:7}
dir="$root/target/previous"
out="$dir/splitlyr-$short"
if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi
if ! git -C "$root" cat-file -e "$commit^{commit}" 2>/dev/null; then
  echo "previous-release.sh: commit $short is not in this clone; fetching it" >&2
  git -C "$root" fetch --quiet origin "$commit" >&2 || {
    echo "previous-release.sh: cannot get commit $short (a shallow clone without a remote?)" >&2
    exit 1
  }
fi
src="$dir/src-$short"
rm -rf "$src"
mkdir -p "$src"
git -C "$root" archive "$commit" | tar -x -C "$src"
echo "previous-release.sh: building the server of $short (once)" >&2
CARGO_TARGET_DIR="$dir/build" cargo build --quiet --locked --manifest-path "$src/Cargo.toml" --bin splitlyr >&2
cp "$dir/build/debug/splitlyr" "$out"
# Its own configuration files, as it shipped with them.
rm -rf "$dir/config-$short"
cp -r "$src/config" "$dir/config-$short"
rm -rf "$src" "$dir/build"
echo "$out"
