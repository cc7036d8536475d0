#!/bin/sh
# Builds kube-apiserver, kube-scheduler and etcd from the module proxy
# (tools/k8s/go.mod pins them) into a git-ignored cache keyed by version, for
# the internal/kube tests (the scheduler only for make test-argo).
# A cold build takes about 8 minutes and 2 GB of RAM on two idle cores (an hour
# when other builds share them); a cached one returns at once. Prints the
# directory that holds the binaries (use it as KUBEBUILDER_ASSETS or
# LLMSWEEP_K8S_ASSETS). The scheduler shares nearly all of its packages with
# the API server, so building it after the API server adds about a minute.
set -eu
DIR=$(cd "$(dirname "$0")" && pwd)
# The versions come from go.mod, so the cache key cannot drift from what is built.
K8S=$(sed -n 's/^\(require\)\{0,1\}[[:space:]]*k8s\.io\/kubernetes \(v[0-9.]*\).*/\2/p' "$DIR/go.mod")
ETCD=$(sed -n 's/^\(require\)\{0,1\}[[:space:]]*go\.etcd\.io\/etcd\/server\/v3 \(v[0-9.]*\).*/\2/p' "$DIR/go.mod")
[ -n "$K8S" ] && [ -n "$ETCD" ] || { echo "build.sh: cannot read versions from $DIR/go.mod" >&2; exit 1; }
# The cache is outside the checkout, so that clean clones (CI) reuse it.
CACHE=${LLMSWEEP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmsweep}
OUT="$CACHE/k8s/$K8S-etcd${ETCD#v}"
have() { [ -x "$OUT/$1" ]; }
if have kube-apiserver && have etcd && have kube-scheduler; then echo "$OUT"; exit 0; fi
MINOR=$(echo "$K8S" | cut -d. -f2)
VPKG=k8s.io/component-base/version
LDFLAGS="-s -w -X $VPKG.gitVersion=$K8S -X $VPKG.gitMajor=1 -X $VPKG.gitMinor=$MINOR -X $VPKG.gitTreeState=clean"
mkdir -p "$OUT"
cd "$DIR"
# Each binary is written beside its final name and renamed, so an interrupted
# build never leaves a binary that the check above would take as cached.
# Plain `go install` of either fails: both modules carry replace directives.
if ! have etcd; then
  echo "building etcd $ETCD" >&2
  GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -o "$OUT/etcd.tmp" -ldflags "-s -w" ./etcd
  mv "$OUT/etcd.tmp" "$OUT/etcd"
fi
for cmd in kube-apiserver kube-scheduler; do
  have "$cmd" && continue
  echo "building $cmd $K8S (cold: about 8 minutes for the first, one more for the second)" >&2
  GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -o "$OUT/$cmd.tmp" -ldflags "$LDFLAGS" "k8s.io/kubernetes/cmd/$cmd"
  mv "$OUT/$cmd.tmp" "$OUT/$cmd"
done
echo "$OUT"
