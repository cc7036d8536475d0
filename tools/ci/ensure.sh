#!/bin/sh
# Makes sure the CI integration's linters are installed: actionlint, built from
# the module proxy into a cache keyed by version (outside the checkout, so
# that clean clones reuse it), and Debian's shellcheck, which actionlint runs
# on every run: script and ci/ci_test.go on the other shell scripts. Prints the
# path of the actionlint binary (use it as LLMSWEEP_ACTIONLINT).
set -eu
VERSION=v1.7.12
CACHE=${LLMSWEEP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmsweep}
BIN="$CACHE/actionlint/$VERSION"
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "installing shellcheck" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO=sudo
  if ! $SUDO apt-get install -y --no-install-recommends shellcheck >&2; then
    $SUDO apt-get update >&2
    $SUDO apt-get install -y --no-install-recommends shellcheck >&2
  fi
fi
if [ ! -x "$BIN/actionlint" ]; then
  echo "building actionlint $VERSION" >&2
  rm -rf "$BIN.tmp" && mkdir -p "$BIN.tmp"
  GOBIN="$BIN.tmp" go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION" >&2
  rm -rf "$BIN" && mv "$BIN.tmp" "$BIN"
fi
echo "$BIN/actionlint"
