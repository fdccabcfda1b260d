#!/usr/bin/env bash
# A program with elevated rights (set-user-ID root, set-group-ID root, file
# capabilities) and the shim preloaded system-wide, run by an unprivileged
# user, ignores SFSHIM_STATS and SFSHIM_LOG: a root-owned file named by
# SFSHIM_STATS stays unchanged, a new one is not created, no log line
# appears. The same program without those rights, run the same way, writes
# its stats and logs (the control).
#
# The preload is /etc/ld.so.preload, which ld.so applies to set-user-ID
# programs too, inside a private mount namespace only: a copy of /etc holding
# it is bound over /etc there. The machine's own /etc is never written.
# Needs root (SKIP, 77, otherwise), unshare and setpriv; setcap for the
# file-capabilities case.
# usage: setuid_test.sh PROBE LIBRARY
set -uo pipefail
probe=$1 lib=$2
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (a set-user-ID root copy and a mount namespace)"
command -v unshare > /dev/null && command -v setpriv > /dev/null || skip "needs unshare and setpriv (util-linux)"
unshare -m --propagation private true 2> /dev/null || skip "cannot make a private mount namespace here"
user=${SFSHIM_TEST_USER_ID:-65534}  # nobody

# A directory the user reaches, on a mount that honours set-user-ID bits.
work=$(mktemp -d "${SFSHIM_SETUID_DIR:-/tmp}/sfshim-setuid.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
chmod 755 "$work"
findmnt -no OPTIONS -T "$work" | tr ',' '\n' | grep -qx nosuid && skip "$work is on a nosuid mount (set SFSHIM_SETUID_DIR)"
fails=0
ok() { echo "  ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

kinds="suid sgid"
install -o root -g root -m 4755 "$probe" "$work/probe-suid"
install -o root -g root -m 2755 "$probe" "$work/probe-sgid"
install -o root -g root -m 0755 "$probe" "$work/probe-caps"
# CAP_DAC_OVERRIDE: the right to write any file, which SFSHIM_STATS would borrow.
if command -v setcap > /dev/null && setcap cap_dac_override+ep "$work/probe-caps" 2> /dev/null; then
    kinds="$kinds caps"
else
    echo "  (not checked: file capabilities; setcap is missing or the file system refuses them)"
fi
install -o root -g root -m 0755 "$probe" "$work/probe"
install -o root -g root -m 0644 "$lib" "$work/libsfshim.so.0"
# Root's files, which group root may write too (so that the set-group-ID
# copy could), the user not at all.
mkdir -m 775 "$work/root"
mkdir -m 755 "$work/user"
chown "$user" "$work/user"
# Empty: a file the shim would make its stats file if it obeyed SFSHIM_STATS.
for k in $kinds; do
    : > "$work/root/$k.json"
    chmod 664 "$work/root/$k.json"
done
cp -a /etc "$work/etc"
printf '%s\n' "$work/libsfshim.so.0" > "$work/etc/ld.so.preload"

# Inside the namespace: bind the copy over /etc, then run each case as the
# user (its environment is all the program gets). Results go to $work/run.*.
unshare -m --propagation private -- /bin/sh -c '
    w=$1 u=$2 kinds=$3
    mount --bind "$w/etc" /etc || exit 3
    as_user() { setpriv --reuid="$u" --regid="$u" --clear-groups -- env -u LD_PRELOAD "$@"; }
    for k in $kinds; do
        as_user SFSHIM_STATS="$w/root/$k.json" SFSHIM_LOG=info "$w/probe-$k" > "$w/run.$k.out" 2> "$w/run.$k.err"
        as_user SFSHIM_STATS="$w/root/$k-new.json" "$w/probe-$k" > /dev/null 2>&1
    done
    as_user SFSHIM_STATS="$w/user/stats.json" SFSHIM_LOG=info "$w/probe" > "$w/run.plain.out" 2> "$w/run.plain.err"
' sh "$work" "$user" "$kinds"
rc=$?
[ $rc -eq 3 ] && skip "cannot bind a copy of /etc in the namespace"
grep -qF " $work/" /proc/self/mounts && bad "a mount of the test is visible outside its namespace"
[ -f "$work/run.plain.out" ] || { bad "the namespace did not run the cases (exit $rc)"; exit 1; }

# The setup itself: the shim reached the programs, which ran with the rights meant.
out() { cat "$work/run.$1.out"; }
for k in plain $kinds; do
    grep -q 'shim=loaded' "$work/run.$k.out" || bad "ld.so.preload did not load the shim into the $k copy ($(out $k))"
done
grep -q ' euid=0$' "$work/run.suid.out" || skip "the set-user-ID bit had no effect here (no_new_privs?): $(out suid)"
grep -q ' egid=0 ' "$work/run.sgid.out" || bad "the set-group-ID copy did not run with group root ($(out sgid))"
case " $kinds " in *" caps "*)
    grep -q ' caps=0*[1-9a-f][0-9a-f]* ' "$work/run.caps.out" || bad "the file-capabilities copy has no capabilities ($(out caps))"
esac
grep -q " egid=$user euid=$user\$" "$work/run.plain.out" || bad "the control did not run as user $user ($(out plain))"

# The control: without elevated rights the variables are obeyed.
if [ "$(stat -c %s "$work/user/stats.json" 2> /dev/null)" = 1052672 ] &&
   [ "$(head -c 8 "$work/user/stats.json")" = SFSHIMs1 ]; then ok "the program without elevated rights writes its stats"
else bad "the control wrote no stats: the checks below would prove nothing"; fi
if grep -q '^sfshim\[[0-9]*\] info: loaded' "$work/run.plain.err"; then ok "the program without elevated rights logs"
else bad "the control did not log (stderr: $(cat "$work/run.plain.err"))"; fi

# With elevated rights both variables are ignored.
for k in $kinds; do
    what=$(case $k in suid) echo "set-user-ID root";; sgid) echo "set-group-ID root";; caps) echo "file-capabilities";; esac)
    if [ ! -s "$work/root/$k.json" ]; then ok "$what: a root-owned file named by SFSHIM_STATS is unchanged"
    else bad "$what: the program wrote its stats into a root-owned file ($(stat -c %s "$work/root/$k.json") bytes)"; fi
    if [ ! -e "$work/root/$k-new.json" ]; then ok "$what: a file named by SFSHIM_STATS in root's directory is not created"
    else bad "$what: the program created $work/root/$k-new.json (owner $(stat -c %U "$work/root/$k-new.json"))"; fi
    if grep -q '^sfshim' "$work/run.$k.err"; then bad "$what: the program obeyed SFSHIM_LOG: $(cat "$work/run.$k.err")"
    else ok "$what: SFSHIM_LOG is ignored"; fi
done

[ $fails -eq 0 ] && echo PASS || { echo "FAILED: $fails check(s)"; exit 1; }
