#!/bin/sh
# The sfshim command's promises: options, errors, exit status, warnings.
# usage: launcher_test.sh SFSHIM HELP_TEXT VERSION
set -eu
sfshim=$1 help=$2 version=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }
expect_status() { # want cmd...
    want=$1; shift
    st=0; "$@" > "$work/out" 2> "$work/err" || st=$?
    [ "$st" -eq "$want" ] || { cat "$work/err"; fail "$* gave exit $st, not $want"; }
}

# --help and --version print their text exactly and run no other program:
# every name the text mentions (and the helpers) is a program on PATH here
# that leaves a mark when it runs.
mkdir "$work/bin"
for p in sfshim sfshim-doctor sfshim-nosendfile doctor; do
    printf '#!/bin/sh\necho "$0 $*" >> "%s/ran"\n' "$work" > "$work/bin/$p"
    chmod +x "$work/bin/$p"
done
PATH="$work/bin:$PATH" expect_status 0 "$sfshim" --help
cmp -s "$work/out" "$help" || { diff "$help" "$work/out" || :; fail "--help differs from $help"; }
[ ! -s "$work/err" ] || fail "--help wrote to stderr: $(cat "$work/err")"
PATH="$work/bin:$PATH" expect_status 0 "$sfshim" --version
[ "$(cat "$work/out")" = "sfshim $version" ] || fail "--version: '$(cat "$work/out")', not 'sfshim $version'"
[ ! -s "$work/err" ] || fail "--version wrote to stderr: $(cat "$work/err")"
[ ! -e "$work/ran" ] || fail "--help or --version ran a program: $(cat "$work/ran")"

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
