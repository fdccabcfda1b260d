#!/usr/bin/env bash
# ways_test.sh's chroot case: needs root (chroot, setuid); SKIP (77) otherwise.
# usage: ways_root_test.sh PROBE LIBRARY SUPPORT_DIR
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: chroot and a drop of privileges need root; not run"
    exit 77
fi
exec "$(dirname "$0")/ways_test.sh" "$1" "$2" "$3" chroot
