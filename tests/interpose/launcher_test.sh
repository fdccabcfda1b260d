#!/bin/sh
# The sfshim command's promises: options, errors, exit status, warnings;
# --stats reports every process of the command, however it ends.
# usage: launcher_test.sh SFSHIM HELP_TEXT VERSION
set -eu
sfshim=$1 help=$2 version=$3
work=$(mktemp -d)
daemon= launcher=
trap 'rm -rf "$work"; for p in $daemon $launcher; do kill -KILL "$p" 2>/dev/null || true; done' EXIT INT TERM
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
LD_PRELOAD=libm.so.6 "$sfshim" --mode rw --stats="$work/x.%p" --log=debug -- sh -c \
    'echo "$LD_PRELOAD|$SFSHIM_MODE|$SFSHIM_STATS|$SFSHIM_LOG"' > "$work/env" 2>/dev/null
grep -q "^/[^:|]*/libsfshim\.so[^:|]*:libm.so.6|rw|$work/x.%p|debug\$" "$work/env" || fail "environment: $(cat "$work/env")"

# A program the shim cannot reach gets one warning; one it can, none.
expect_status 0 "$sfshim" -- /bin/true
grep -q 'does not import sendfile' "$work/err" || fail "no warning for /bin/true"
expect_status 0 "$sfshim" --quiet -- /bin/true
[ ! -s "$work/err" ] || fail "--quiet still warned"
expect_status 0 "$sfshim" -- apache2 -v
! grep -q 'warning' "$work/err" || fail "apache2 (through libapr) should not be warned about"

# ---- --stats: a report on stderr when the command returns ----

# --stats makes its file in TMPDIR and removes it: nothing is left there.
mkdir "$work/tmp"
TMPDIR=$work/tmp
export TMPDIR
left_nothing() { [ -z "$(ls -A "$work/tmp")" ] || fail "$1: left $(ls -A "$work/tmp") in TMPDIR"; }
head -c 65536 /dev/urandom > "$work/input"
# send.py N HOW [READY]: N sendfile calls of the input to /dev/null, then
# exit, _exit(3), SIGKILL itself, or (wait) write its pid to READY and sleep
# until SIGTERM, which writes READY.term and exits 5.
cat > "$work/send.py" <<'PY'
import os, signal, sys, time
src, out = os.open(sys.argv[1], os.O_RDONLY), os.open("/dev/null", os.O_WRONLY)
for _ in range(int(sys.argv[2])):
    assert os.sendfile(out, src, 0, 65536) == 65536
how = sys.argv[3]
if how == "_exit": os._exit(3)
if how == "kill": os.kill(os.getpid(), 9)
if how == "wait":
    def term(*_):
        open(sys.argv[4] + ".term", "w").close()
        sys.exit(5)
    signal.signal(signal.SIGTERM, term)
    with open(sys.argv[4] + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(sys.argv[4] + ".tmp", sys.argv[4])
    while True: time.sleep(60)
PY
send="python3 $work/send.py $work/input"
# Until FILE exists (the command got there), for 30 s at most.
await() {
    for _ in $(seq 600); do [ -e "$1" ] && return; sleep 0.05; done
    fail "timed out waiting for $1 (30 s)"
}

# A process that ends through _exit after sending: reported (the old
# report at exit never saw it), its exit status passed on.
# shellcheck disable=SC2086
expect_status 3 "$sfshim" --quiet --stats -- $send 2 _exit
grep -q '^sfshim, 1 process (1 ended): 2 sendfile calls, 128.0 KiB$' "$work/err" &&
    grep -Eq '^ +[0-9]+  ended +2 +128.0 KiB ' "$work/err" || { cat "$work/err"; fail "--stats: a process ending with _exit"; }
left_nothing "--stats"
# The same where the kernel has no sendfile: emulated, and said so.
# shellcheck disable=SC2086
expect_status 3 "$sfshim" --quiet --stats --no-kernel-sendfile -- $send 2 _exit
grep -q '^sfshim, 1 process (1 ended): 2 sendfile calls, 128.0 KiB$' "$work/err" &&
    grep -q '^  emulated  *2 calls' "$work/err" && grep -q 'kernel sendfile answered ENOSYS' "$work/err" ||
    { cat "$work/err"; fail "--stats --no-kernel-sendfile: a process ending with _exit"; }
left_nothing "--stats --no-kernel-sendfile"
# Every process of the command, each on a line; the command's status.
expect_status 7 "$sfshim" --quiet --stats -- sh -c "$send 1 exit; $send 2 _exit; exit 7"
grep -q '^sfshim, 2 processes (1 exited, 1 ended): 3 sendfile calls, 192.0 KiB$' "$work/err" &&
    grep -Eq '^ +[0-9]+  exited +1 +64.0 KiB ' "$work/err" && grep -Eq '^ +[0-9]+  ended +2 +128.0 KiB ' "$work/err" ||
    { cat "$work/err"; fail "--stats: two processes of a shell command"; }
expect_status 7 "$sfshim" --quiet --stats -- sh -c 'exit 7'
grep -qx 'sfshim: no process called sendfile' "$work/err" || { cat "$work/err"; fail "--stats: a command that sent nothing"; }
left_nothing "--stats, several processes"

# A command that dies of a signal: the launcher dies of the same one (a
# shell cannot tell 128+N from a signal; Python's returncode can).
died() { # signal cmd...: runs cmd, its stderr in $work/err; fails unless killed by that signal
    sig=$1; shift
    rc=$(python3 -c 'import subprocess, sys
print(subprocess.run(sys.argv[2:], stderr=open(sys.argv[1], "w")).returncode)' "$work/err" "$@")
    [ "$rc" = "-$sig" ] || { cat "$work/err"; fail "$* ended with returncode $rc, not -$sig (killed by signal $sig)"; }
}
died 15 "$sfshim" --quiet --stats -- sh -c 'kill -TERM $$'
# shellcheck disable=SC2086
died 9 "$sfshim" --quiet --stats -- $send 1 kill
grep -q '^sfshim, 1 process (1 ended): 1 sendfile calls, 64.0 KiB$' "$work/err" ||
    { cat "$work/err"; fail "--stats: a process killed by SIGKILL"; }
left_nothing "--stats, signals"

# SIGTERM to the launcher (sfshim-doctor supervise by then) reaches the
# command, which may still finish; the report is written, the status kept.
# shellcheck disable=SC2086
"$sfshim" --quiet --stats -- $send 1 wait "$work/ready" > /dev/null 2> "$work/term.err" & launcher=$!
await "$work/ready"
kill -TERM "$launcher"
st=0; wait "$launcher" || st=$?
launcher=
[ -e "$work/ready.term" ] || fail "SIGTERM to the launcher did not reach the command"
[ "$st" -eq 5 ] || { cat "$work/term.err"; fail "after SIGTERM the command exited 5; the launcher: $st"; }
grep -q '^sfshim, 1 process (1 exited): 1 sendfile calls, 64.0 KiB$' "$work/term.err" ||
    { cat "$work/term.err"; fail "--stats: no report after SIGTERM"; }
left_nothing "--stats, SIGTERM"

# A daemon that outlives the command is reported as it was then: running.
rm -f "$work/ready" "$work/ready.term"
expect_status 0 "$sfshim" --quiet --stats -- sh -c \
    "$send 1 wait $work/ready & while [ ! -e $work/ready ]; do sleep 0.05; done"
daemon=$(cat "$work/ready")
grep -q '^sfshim, 1 process (1 running): 1 sendfile calls, 64.0 KiB$' "$work/err" &&
    grep -Eq "^ +$daemon  running +1 +64.0 KiB " "$work/err" || { cat "$work/err"; fail "--stats: a daemon still running"; }
kill "$daemon"; await "$work/ready.term"; daemon=
left_nothing "--stats, a daemon"

# A command that cannot be executed: the shell's status and words.
printf 'not a program\n' > "$work/noexec"
expect_status 126 "$sfshim" --quiet --stats -- "$work/noexec"
grep -q "$work/noexec: Permission denied" "$work/err" || { cat "$work/err"; fail "--stats: a file that is not executable"; }
left_nothing "--stats, exec failed"

# --stats=FILE: no report, the live file, read by `sfshim stats`.
# shellcheck disable=SC2086
expect_status 0 "$sfshim" --quiet --stats="$work/named.stats" -- $send 2 exit
[ ! -s "$work/err" ] || { cat "$work/err"; fail "--stats=FILE wrote to stderr"; }
expect_status 0 "$sfshim" stats --json "$work/named.stats"
python3 -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [(r["state"], r["calls"], r["bytes"]) for r in rows] == [("exited", 2, 131072)], rows' "$work/out" ||
    { cat "$work/out"; fail "sfshim stats --json FILE after --stats=FILE"; }
expect_status 1 "$sfshim" stats "$work/noexec"
[ "$(wc -l < "$work/err")" -eq 1 ] || fail "sfshim stats on a file that is not a stats file: $(cat "$work/err")"
expect_status 2 "$sfshim" stats
echo "launcher: options, errors, exit status, warnings and --stats as documented"
