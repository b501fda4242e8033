#!/bin/sh
# run.sh CASE: one scripted session of the `debian` test stage (xtask/src/debiantests.rs).
# Runs cases/CASE.sh with bash in a fresh scratch directory /tmp/exo-deb/CASE holding the
# fixed input files of setup.sh, in a new session (no controlling terminal), with a clean
# environment, stdin from /dev/null and stdout+stderr into a file (so no program sees a
# terminal); then prints that output between two markers, with the exit status. The same
# script runs on Exo-OS and, in a chroot of the same tree, on the host: the outputs must match.
d=/opt/exo-debian
w=/tmp/exo-deb/$1
rm -rf "$w" "$w.out"
mkdir -p "$w" && cd "$w" || exit 1
ENV="PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root LC_ALL=C TZ=UTC TERM=dumb"
setsid env -i $ENV /bin/bash "$d/setup.sh" > "$w.setup" 2>&1 < /dev/null || { echo "setup failed:"; cat "$w.setup"; }
setsid env -i $ENV /bin/bash "$d/cases/$1.sh" > "$w.out" 2>&1 < /dev/null
echo "exit status $?" >> "$w.out"
printf '<<%s>>\n' "begin-$1"
cat "$w.out"
printf '<<%s>>\n' "end-$1"
cd / && rm -rf "$w"
