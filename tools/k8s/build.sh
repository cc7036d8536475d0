#!/bin/sh
# Builds kube-apiserver and etcd from the module proxy (tools/k8s/go.mod pins
# both) into a git-ignored cache keyed by version, for the internal/kube tests.
# A cold build takes about 8 minutes and 2 GB of RAM on two idle cores (an hour
# when other builds share them); a cached one returns at once. Prints the
# directory that holds both binaries (use it as KUBEBUILDER_ASSETS or
# LLMSWEEP_K8S_ASSETS).
set -eu
DIR=$(cd "$(dirname "$0")" && pwd)
# The versions come from go.mod, so the cache key cannot drift from what is built.
K8S=$(sed -n 's/^\(require\)\{0,1\}[[:space:]]*k8s\.io\/kubernetes \(v[0-9.]*\).*/\2/p' "$DIR/go.mod")
ETCD=$(sed -n 's/^\(require\)\{0,1\}[[:space:]]*go\.etcd\.io\/etcd\/server\/v3 \(v[0-9.]*\).*/\2/p' "$DIR/go.mod")
[ -n "$K8S" ] && [ -n "$ETCD" ] || { echo "build.sh: cannot read versions from $DIR/go.mod" >&2; exit 1; }
# The cache is outside the checkout, so that clean clones (CI) reuse it.
CACHE=${LLMSWEEP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmsweep}
OUT="$CACHE/k8s/$K8S-etcd${ETCD#v}"
if [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/etcd" ]; then echo "$OUT"; exit 0; fi
MINOR=$(echo "$K8S" | cut -d. -f2)
VPKG=k8s.io/component-base/version
rm -rf "$OUT.tmp" && mkdir -p "$OUT.tmp"
cd "$DIR"
# Plain `go install` of either fails: both modules carry replace directives.
echo "building etcd $ETCD" >&2
GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -o "$OUT.tmp/etcd" -ldflags "-s -w" ./etcd
echo "building kube-apiserver $K8S (cold: about 8 minutes)" >&2
GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -o "$OUT.tmp/kube-apiserver" \
  -ldflags "-s -w -X $VPKG.gitVersion=$K8S -X $VPKG.gitMajor=1 -X $VPKG.gitMinor=$MINOR -X $VPKG.gitTreeState=clean" \
  k8s.io/kubernetes/cmd/kube-apiserver
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
echo "$OUT"
