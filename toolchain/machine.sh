# Facts about this machine that decide what a test stage can run, asked once
# and never guessed. Sourced by toolchain/test.sh, i386.sh and sanitize.sh.
#
#   sfm_i386_runs        0 when a 32-bit x86 program runs here; else 1, and
#                        SFM_WHY says why (the compiler or the kernel's words)
#   sfm_sanitizer_runs K 0 when clang's K sanitizer (address, thread) builds
#                        and runs a threaded program here; else 1 and SFM_WHY
#   sfm_not_run TEXT     a stage's word that part of it could not run here:
#                        one line on stdout, and the same line for the final
#                        summary of toolchain/test.sh (SFSHIM_STAGE_NOTES)
#
# A stage that could not run what it should exits with SFM_NOT_RUN (77, the
# "skipped" of automake and meson): the test command counts it as not run,
# never as passed, and does not turn red for it.
# SFSHIM_ASSUME_NO_I386=1 makes sfm_i386_runs answer no, to try that path on a
# machine that can run 32-bit programs.
# shellcheck shell=sh

SFM_NOT_RUN=77
SFM_WHY=

# A tiny program built and run in a temporary directory: compiler, flags,
# C source. Sets SFM_WHY to the last line of what failed.
sfm_try_program() {
    _sfm_cc=$1 _sfm_flags=$2 _sfm_src=$3
    _sfm_dir=$(mktemp -d) || { SFM_WHY="mktemp failed"; return 1; }
    printf '%s\n' "$_sfm_src" > "$_sfm_dir/p.c"
    # shellcheck disable=SC2086
    if ! "$_sfm_cc" $_sfm_flags "$_sfm_dir/p.c" -o "$_sfm_dir/p" > "$_sfm_dir/log" 2>&1; then
        SFM_WHY="$_sfm_cc $_sfm_flags cannot build a program: $(tail -n 1 "$_sfm_dir/log")"
        rm -rf "$_sfm_dir"
        return 1
    fi
    if ! "$_sfm_dir/p" > "$_sfm_dir/log" 2>&1; then
        SFM_WHY="a program built with $_sfm_cc $_sfm_flags does not run: $(tail -n 1 "$_sfm_dir/log")"
        rm -rf "$_sfm_dir"
        return 1
    fi
    rm -rf "$_sfm_dir"
    SFM_WHY=
    return 0
}

sfm_i386_runs() {
    if [ "${SFSHIM_ASSUME_NO_I386:-0}" = 1 ]; then
        SFM_WHY="SFSHIM_ASSUME_NO_I386=1"
        return 1
    fi
    # Static: the question is the kernel's i386 ABI, not a 32-bit loader.
    sfm_try_program "${CC:-gcc}" "-m32 -static" 'int main(void) { return 0; }' || {
        # The shell's own words when the kernel refuses the ELF class.
        SFM_WHY="32-bit x86 programs cannot run on this machine (${SFM_WHY})"
        return 1
    }
}

sfm_sanitizer_runs() {
    sfm_try_program clang "-fsanitize=$1 -pthread" '#include <pthread.h>
static int x;
static void *f(void *a) { x++; return a; }
int main(void) { pthread_t t; pthread_create(&t, 0, f, 0); pthread_join(t, 0); return x - 1; }'
}

sfm_not_run() {
    echo "NOT RUN: $*"
    [ -z "${SFSHIM_STAGE_NOTES:-}" ] || echo "$*" >> "$SFSHIM_STAGE_NOTES"
}
