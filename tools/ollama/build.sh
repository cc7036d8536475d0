#!/bin/sh
# Builds the real ollama engine from the Go module proxy (cgo compiles llama.cpp
# and ggml-cpu; no cmake) into a git-ignored cache keyed by version, for the
# end-to-end tests. A cold build takes minutes; a cached one returns at once.
set -eu
VERSION=${OLLAMA_VERSION:-v0.17.4}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# The cache is outside the checkout, so that clean clones (CI) reuse it.
CACHE=${LLMSWEEP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmsweep}
OUT="$CACHE/ollama/$VERSION"
if [ -x "$OUT/ollama" ]; then echo "$OUT/ollama"; exit 0; fi
# The module zip lacks llama.cpp's vendor headers: Debian has two of them, and
# tools/ollama/include has a stand-in for the third (audio input is never used).
for h in /usr/include/nlohmann/json.hpp /usr/include/stb/stb_image.h; do
  if [ ! -f "$h" ]; then
    echo "installing nlohmann-json3-dev and libstb-dev" >&2
    apt-get install -y nlohmann-json3-dev libstb-dev >&2
    break
  fi
done
mkdir -p "$OUT.tmp"
CGO_ENABLED=1 CGO_CPPFLAGS="-I$ROOT/tools/ollama/include -I/usr/include/stb" GOBIN="$OUT.tmp" GOFLAGS= \
  go install -ldflags "-s -w -X github.com/ollama/ollama/version.Version=${VERSION#v}" "github.com/ollama/ollama@$VERSION" >&2
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
echo "$OUT/ollama"
