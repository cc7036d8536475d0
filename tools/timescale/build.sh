#!/bin/sh
# Builds TimescaleDB (the Apache-2 edition, from the source tarball in the team's
# shared folder) against Debian's PostgreSQL into a git-ignored cache keyed by
# version and PostgreSQL major, then installs the cached files into PostgreSQL's
# own directories (PostgreSQL 15 loads extensions only from there). A cold build
# takes about 4-5 minutes on two idle cores; a cached one installs at once.
# Prints the cache directory.
set -eu
VERSION=2.28.3
# The tarball is the tag's tree without tsl/ and .github/ (see its README);
# the checksum pins exactly that file.
SHA256=0781e39bf6505477d111d97e8faab2e4e6b7b00d12d8da05a4d7e937547b3737
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARBALL=timescaledb-$VERSION-apache.tar.gz
SRC=
for d in ${LLMSWEEP_TIMESCALE_SRC:-} "$ROOT/../shared/timescaledb" /work/shared/timescaledb; do
  if [ -f "$d/$TARBALL" ]; then SRC="$d/$TARBALL"; break; fi
done
[ -n "$SRC" ] || { echo "build.sh: $TARBALL not found (set LLMSWEEP_TIMESCALE_SRC to its folder)" >&2; exit 1; }

need=
command -v pg_config >/dev/null || need="$need postgresql-server-dev-15"
[ -n "$need" ] || [ -f "$(pg_config --includedir-server)/postgres.h" ] || need="$need postgresql-server-dev-15"
command -v cmake >/dev/null || need="$need cmake"
if [ -n "$need" ]; then
  echo "installing$need" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >&2
fi
PGMAJOR=$(pg_config --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
LIBDIR=$(pg_config --pkglibdir)
SHAREDIR=$(pg_config --sharedir)

# The cache is outside the checkout, so that clean clones (CI) reuse it.
CACHE=${LLMSWEEP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmsweep}
OUT="$CACHE/timescaledb/$VERSION-pg$PGMAJOR"
if [ ! -f "$OUT/.done" ]; then
  echo "$SHA256  $SRC" | sha256sum -c --quiet - >&2 ||
    { echo "build.sh: $SRC does not match its pinned sha256" >&2; exit 1; }
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  echo "building TimescaleDB $VERSION (Apache-2) for PostgreSQL $PGMAJOR (cold: about 5 minutes)" >&2
  start=$(date +%s)
  tar xzf "$SRC" -C "$WORK"
  cd "$WORK/timescaledb-$VERSION"
  ./bootstrap -DAPACHE_ONLY=1 -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF \
    -DLINTER=OFF -DCMAKE_BUILD_TYPE=Release >&2
  make -C build -j"$(nproc)" >&2
  rm -rf "$OUT.tmp"
  make -C build install DESTDIR="$OUT.tmp/root" >&2
  echo "built in $(( $(date +%s) - start )) s" >&2
  rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
  touch "$OUT/.done"
fi
# Install (or re-install after a PostgreSQL upgrade wiped them) from the cache.
if ! cmp -s "$OUT/root$LIBDIR/timescaledb-$VERSION.so" "$LIBDIR/timescaledb-$VERSION.so" ||
   ! cmp -s "$OUT/root$SHAREDIR/extension/timescaledb.control" "$SHAREDIR/extension/timescaledb.control"; then
  cp -R "$OUT/root/." /
fi
echo "$OUT"
