#!/bin/bash
# host-check.sh - builds the user-space programs for the HOST and runs the test suite natively.
#
# The tests use the Linux x86-64 ABI, so they must pass on Linux too; this validates the tests
# themselves.  Everything is staged under $UROOT (default /tmp/uroot) with the image's layout
# (/init, /bin, /bin/tests, /tmp is the host's), and init runs the suite with UTEST_ROOT=$UROOT.
# Not used by the Exo-OS build (xtask builds the initramfs itself).
#
# Usage: user/host-check.sh [filter]      (filter: only tests whose name contains it)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
UROOT="${UROOT:-/tmp/uroot}"
CFLAGS="-static -O2 -Wall -Werror -I$here/lib -pthread"

rm -rf "$UROOT"
mkdir -p "$UROOT/bin/tests"
for src in "$here"/bin/*.c; do
	musl-gcc $CFLAGS -o "$UROOT/bin/$(basename "$src" .c)" "$src"
done
for src in "$here"/tests/*.c; do
	musl-gcc $CFLAGS -o "$UROOT/bin/tests/$(basename "$src" .c)" "$src"
done
grep -v '^[[:space:]]*\(#\|$\)' "$here/tests/GLIBC" | while read -r stem; do
	gcc $CFLAGS -o "$UROOT/bin/tests/$stem.glibc" "$here/tests/$stem.c"
done
grep -v '^[[:space:]]*\(#\|$\)' "$here/tests/DYNAMIC" | while read -r stem; do
	gcc ${CFLAGS#-static } -o "$UROOT/bin/tests/$stem.dyn" "$here/tests/$stem.c"
	musl-gcc ${CFLAGS#-static } -o "$UROOT/bin/tests/$stem.musl-dyn" "$here/tests/$stem.c"
done
musl-gcc $CFLAGS -o "$UROOT/init" "$here/init/init.c"

export UTEST_ROOT="$UROOT"
# The host's free memory moves with everything else running here: loosen t_chain's leak check.
export UTEST_MEM_TOLERANCE_KB="${UTEST_MEM_TOLERANCE_KB:-262144}"
if [ $# -gt 0 ]; then export UTEST_FILTER="$1"; fi
cd /
exec "$UROOT/init" utest
