#!/bin/sh
# Builds what make test-argo runs beside tools/k8s/build.sh's API server and
# scheduler: Argo's workflow-controller (tools/argo/go.mod pins it to the
# version the main module validates against) and kwok, which simulates nodes
# and the pod lifecycle. Both go to a git-ignored cache keyed by version
# (~/.cache/llmsweep/argo/...); a cached build returns at once. Cold: about
# 4 minutes for the controller and 2.5 for kwok on two idle cores. Prints the
# directory that holds both binaries.
set -eu
DIR=$(cd "$(dirname "$0")" && pwd)
ARGO=$(sed -n 's/^\(require\)\{0,1\}[[:space:]]*github\.com\/argoproj\/argo-workflows\/v3 \(v[0-9.]*\).*/\2/p' "$DIR/go.mod")
KWOK=v0.8.0
[ -n "$ARGO" ] || { echo "build.sh: cannot read the Argo version from $DIR/go.mod" >&2; exit 1; }
MAIN=$(sed -n 's/^\(require\)\{0,1\}[[:space:]]*github\.com\/argoproj\/argo-workflows\/v3 \(v[0-9.]*\).*/\2/p' "$DIR/../../go.mod")
[ "$MAIN" = "$ARGO" ] || { echo "build.sh: tools/argo/go.mod pins Argo $ARGO but go.mod has $MAIN" >&2; exit 1; }
CACHE=${LLMSWEEP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmsweep}
OUT="$CACHE/argo/$ARGO-kwok${KWOK#v}"
if [ -x "$OUT/workflow-controller" ] && [ -x "$OUT/kwok" ]; then echo "$OUT"; exit 0; fi
mkdir -p "$OUT"
cd "$DIR"
if [ ! -x "$OUT/workflow-controller" ]; then
  echo "building workflow-controller $ARGO (cold: about 4 minutes)" >&2
  GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$OUT/workflow-controller.tmp" \
    github.com/argoproj/argo-workflows/v3/cmd/workflow-controller
  mv "$OUT/workflow-controller.tmp" "$OUT/workflow-controller"
fi
if [ ! -x "$OUT/kwok" ]; then
  echo "building kwok $KWOK (cold: about 2.5 minutes)" >&2
  tmp="$OUT/kwok.tmp.d"
  rm -rf "$tmp"
  # kwok needs no replace directives, so go install works and its module stays out of this repo.
  GOFLAGS= GOBIN="$tmp" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK"
  mv "$tmp/kwok" "$OUT/kwok" && rm -rf "$tmp"
fi
echo "$OUT"
