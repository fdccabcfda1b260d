#!/bin/sh
# The sfshim command's promises: options, errors, exit status, warnings.
# usage: launcher_test.sh SFSHIM
set -eu
sfshim=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }
expect_status() { # want cmd...
    want=$1; shift
    st=0; "$@" > "$work/out" 2> "$work/err" || st=$?
    [ "$st" -eq "$want" ] || { cat "$work/err"; fail "$* gave exit $st, not $want"; }
}

expect_status 0 "$sfshim" --help
grep -q 'usage: sfshim' "$work/out" || fail "--help prints the usage"
expect_status 0 "$sfshim" --version
grep -Eq '^sfshim [0-9]+\.[0-9]+\.[0-9]+$' "$work/out" || fail "--version: $(cat "$work/out")"

for bad in "--frobnicate" "--mode fast" "--log=loud"; do
    # shellcheck disable=SC2086
    expect_status 2 "$sfshim" $bad -- true
    [ "$(wc -l < "$work/err")" -eq 1 ] || fail "'$bad' should give one line of error"
done
expect_status 2 "$sfshim"
expect_status 127 "$sfshim" -- no-such-command-anywhere

# The exit status passes through; LD_PRELOAD keeps what was there; settings arrive.
expect_status 7 "$sfshim" -- sh -c 'exit 7'
LD_PRELOAD=libm.so.6 "$sfshim" --mode rw --stats=/tmp/x.%p --log=debug -- sh -c \
    'echo "$LD_PRELOAD|$SFSHIM_MODE|$SFSHIM_STATS|$SFSHIM_LOG"' > "$work/env" 2>/dev/null
grep -q "^/[^:|]*/libsfshim\.so[^:|]*:libm.so.6|rw|/tmp/x.%p|debug\$" "$work/env" || fail "environment: $(cat "$work/env")"

# A program the shim cannot reach gets one warning; one it can, none.
expect_status 0 "$sfshim" -- /bin/true
grep -q 'does not import sendfile' "$work/err" || fail "no warning for /bin/true"
expect_status 0 "$sfshim" --quiet -- /bin/true
[ ! -s "$work/err" ] || fail "--quiet still warned"
expect_status 0 "$sfshim" -- apache2 -v
! grep -q 'warning' "$work/err" || fail "apache2 (through libapr) should not be warned about"
echo "launcher: options, errors, exit status and warnings as documented"
