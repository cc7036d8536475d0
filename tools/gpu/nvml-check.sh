#!/usr/bin/env bash
# Device check for internal/telemetry's NVML sampler: builds the package's
# tests with cgo and runs TestNVML* with LLMSWEEP_REQUIRE_GPU=1, so that a
# machine where NVML fails is a failure rather than a skip. The test logs a
# few real samples as JSON. It does not load the GPU.
#
# Run from the repository root on a GPU machine:   tools/gpu/nvml-check.sh
# Before that, on a machine with network access:   tools/gpu/nvml-check.sh prepare
#
# Assumptions:
#   - Go (the go.mod version; GOTOOLCHAIN=local, no toolchain download) and a
#     C compiler are installed: go-nvml needs cgo. The NVIDIA driver provides
#     libnvidia-ml.so.1.
#   - No module proxy is reachable (GOPROXY=off, GOFLAGS=-mod=mod): every
#     module the test needs must already be in the module cache. `prepare`
#     fills .cache/gomod (git-ignored, ~20 MB: go-nvml, procfs, x/sys) and the
#     caller carries that folder to the GPU machine; this script uses it when
#     present, else GOMODCACHE or the default cache.
#   - Under 2 minutes on a cold machine: a cold build (std, go-nvml's large cgo
#     file) is most of it; the test itself takes about a second.
set -euo pipefail

cache=.cache/gomod
if [[ ${1:-} == prepare ]]; then
	mkdir -p "$cache"
	GOMODCACHE=$PWD/$cache GOFLAGS=-mod=mod go list -deps -test ./internal/telemetry >/dev/null
	du -sh "$cache"
	exit 0
fi

[[ -d $cache ]] && export GOMODCACHE=$PWD/$cache
export GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=1
export LLMSWEEP_REQUIRE_GPU=1
# go-nvml's generated bindings call APIs NVML marks deprecated; the warnings
# are harmless and would bury the output of a cold build.
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -Wno-deprecated-declarations"

go version
cc=$(go env CC)
command -v "${cc%% *}" >/dev/null || { echo "nvml-check: no C compiler ($cc); go-nvml needs cgo" >&2; exit 1; }
if command -v nvidia-smi >/dev/null; then
	nvidia-smi --query-gpu=index,name,driver_version,memory.used,memory.total,power.draw --format=csv
else
	echo "nvml-check: nvidia-smi not found (the test needs only libnvidia-ml.so.1)"
fi

timeout 110 go test -count=1 -run '^TestNVML' -v ./internal/telemetry
