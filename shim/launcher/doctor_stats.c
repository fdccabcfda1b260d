/*
 * sfshim-doctor's side of the live stats file (shim/src/stats_file.h): the
 * library counts there, this reads it.
 *
 *   sfshim stats [--json] FILE...   what the processes counted in FILE
 *   sfshim-doctor supervise FILE -- COMMAND [ARGS...]
 *                                   runs COMMAND, then reports FILE on
 *                                   stderr and removes it (`sfshim --stats`)
 *   doctor_live_counters(PID)       the counters of a running process, for
 *                                   `sfshim doctor PID` (doctor.c)
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stats_format.h"

int doctor_stats(int argc, char **argv);
int doctor_supervise(int argc, char **argv);
void doctor_live_counters(const char *pid_text);

/* ---- reading a file ------------------------------------------------------ */

enum load_result { LOAD_OK, LOAD_NEW, LOAD_BAD };

/* Reads the whole stats file open at fd into *data (malloc'd; the caller
 * frees it). LOAD_NEW: empty, or made but not set up yet; LOAD_BAD: not a
 * live stats file, with the reason in `why`. One copy taken at once, so that
 * a file that changes or shrinks while it is read is never a fault. */
static enum load_result load_stats(int fd, unsigned char **data, char *why, size_t why_size) {
    struct stat st;
    *data = NULL;
    if (fstat(fd, &st) != 0) {
        snprintf(why, why_size, "%s", strerror(errno));
        return LOAD_BAD;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_size, "not a regular file");
        return LOAD_BAD;
    }
    if (st.st_size == 0) return LOAD_NEW;
    unsigned char first = 0;
    if (pread(fd, &first, 1, 0) == 1 && first == '{') {
        snprintf(why, why_size, "a stats file of the old format (JSON lines), not a live stats file");
        return LOAD_BAD;
    }
    if (st.st_size != (off_t)SFSHIM_STATS_FILE_SIZE) {
        snprintf(why, why_size, "not a live stats file (%lld bytes, not %u)", (long long)st.st_size,
                 (unsigned)SFSHIM_STATS_FILE_SIZE);
        return LOAD_BAD;
    }
    unsigned char *buf = malloc(SFSHIM_STATS_FILE_SIZE);
    size_t got = 0;
    while (buf && got < SFSHIM_STATS_FILE_SIZE) {
        ssize_t n = pread(fd, buf + got, SFSHIM_STATS_FILE_SIZE - got, (off_t)got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    if (!buf || got < SFSHIM_STATS_FILE_SIZE) {
        snprintf(why, why_size, "cannot be read whole: %s", buf ? "it shrank" : strerror(ENOMEM));
        free(buf);
        return LOAD_BAD;
    }
    const struct sfshim_stats_header *h = (const struct sfshim_stats_header *)buf;
    if (h->magic == 0) {
        free(buf);
        return LOAD_NEW;
    }
    if (h->magic != SFSHIM_STATS_MAGIC || h->slot_size != SFSHIM_STATS_SLOT_SIZE || h->slots != SFSHIM_STATS_SLOTS) {
        snprintf(why, why_size, "not a live stats file of this version");
        free(buf);
        return LOAD_BAD;
    }
    *data = buf;
    return LOAD_OK;
}

static const struct sfshim_stats_slot *slot_at(const unsigned char *data, unsigned i) {
    return (const struct sfshim_stats_slot *)(data + SFSHIM_STATS_HEADER_SIZE + (size_t)i * SFSHIM_STATS_SLOT_SIZE);
}

static const char *mode_name(uint32_t mode) {
    static const char *const names[] = {"auto", "emulate", "mmap", "rw", "native"};
    return mode < sizeof names / sizeof names[0] ? names[mode] : "unknown";
}

/* What became of a slot's process: "exited" (through exit()), "running",
 * or "ended" (without exit: _exit, a fatal signal, or an exec; a later slot
 * with the same pid is the same process after an exec). */
static const char *slot_state(const unsigned char *data, unsigned i) {
    const struct sfshim_stats_slot *s = slot_at(data, i);
    if (s->state == SFSHIM_SLOT_EXITED) return "exited";
    for (unsigned j = i + 1; j < SFSHIM_STATS_SLOTS; j++)
        if (slot_at(data, j)->state != SFSHIM_SLOT_FREE && slot_at(data, j)->pid == s->pid) return "ended";
    if (s->pid > 0 && (kill(s->pid, 0) == 0 || errno == EPERM)) return "running";
    return "ended";
}

/* One line of the report: a slot's process, or slot 0's shared count. */
struct row {
    long pid;             /* 0 for slot 0 */
    const char *state;    /* exited, running, ended, shared */
    const char *mode;
    uint64_t processes;   /* 1, or the processes counted in slot 0 */
    struct sfshim_stats s;
    struct sfshim_cache_stats c;
};

struct rows {
    struct row *v;
    size_t n, cap;
};

static struct row *add_row(struct rows *r) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct row *v = realloc(r->v, cap * sizeof *v);
        if (!v) {
            fprintf(stderr, "sfshim: out of memory\n");
            exit(1);
        }
        r->v = v;
        r->cap = cap;
    }
    memset(&r->v[r->n], 0, sizeof r->v[0]);
    return &r->v[r->n++];
}

/* Appends the file's used slots (1.., then 0 if shared) to `rows`; how many. */
static size_t collect_rows(const unsigned char *data, struct rows *rows) {
    size_t before = rows->n;
    for (unsigned i = 1; i < SFSHIM_STATS_SLOTS; i++) {
        const struct sfshim_stats_slot *s = slot_at(data, i);
        if (s->state != SFSHIM_SLOT_LIVE && s->state != SFSHIM_SLOT_EXITED) continue;
        struct row *r = add_row(rows);
        r->pid = s->pid;
        r->state = slot_state(data, i);
        r->mode = mode_name(s->mode);
        r->processes = 1;
        sfshim_slot_read(s, &r->s, &r->c);
    }
    const struct sfshim_stats_slot *zero = slot_at(data, 0);
    if (zero->state == SFSHIM_SLOT_SHARED) {
        struct row *r = add_row(rows);
        r->state = "shared";
        r->mode = mode_name(zero->mode);
        r->processes = ((const struct sfshim_stats_header *)data)->shared_processes;
        sfshim_slot_read(zero, &r->s, &r->c);
    }
    return rows->n - before;
}

/* ---- the report ---------------------------------------------------------- */

static void add_stats(struct sfshim_stats *t, const struct sfshim_stats *s) {
    t->calls += s->calls;
    t->native_calls += s->native_calls;
    t->emulated_calls += s->emulated_calls;
    t->mmap_calls += s->mmap_calls;
    t->rw_calls += s->rw_calls;
    t->bytes += s->bytes;
    t->native_bytes += s->native_bytes;
    t->mmap_bytes += s->mmap_bytes;
    t->rw_bytes += s->rw_bytes;
    t->fallbacks += s->fallbacks;
    t->mmap_fallbacks += s->mmap_fallbacks;
    t->errors += s->errors;
    t->retries += s->retries;
    t->kernel_enosys |= s->kernel_enosys;
}

/* The cache's counts are summed over all; its figures at exit (entries,
 * mapped bytes, peak, cap) exist for exited processes only. */
static void add_cache(struct sfshim_cache_stats *t, const struct row *r) {
    t->hits += r->c.hits;
    t->misses += r->c.misses;
    t->bypasses += r->c.bypasses;
    t->evictions += r->c.evictions;
    if (strcmp(r->state, "exited") != 0) return;
    t->entries += r->c.entries;
    t->mapped_bytes += r->c.mapped_bytes;
    t->peak_mapped_bytes += r->c.peak_mapped_bytes;
    t->cap_bytes += r->c.cap_bytes;
}

static int by_bytes_descending(const void *a, const void *b) {
    uint64_t x = ((const struct row *)a)->s.bytes, y = ((const struct row *)b)->s.bytes;
    return x < y ? 1 : x > y ? -1 : 0;
}

enum { kShownRows = 20 };

static void print_row(FILE *out, const struct row *r) {
    typedef unsigned long long ull;
    char pid[24], state[32], bytes[32];
    if (r->pid) snprintf(pid, sizeof pid, "%ld", r->pid);
    else snprintf(pid, sizeof pid, "-");
    if (r->processes != 1) snprintf(state, sizeof state, "%s (%llu)", r->state, (ull)r->processes);
    else snprintf(state, sizeof state, "%s", r->state);
    fprintf(out, "  %8s  %-13s %8llu %11s %8llu %8llu %8llu %8llu\n", pid, state, (ull)r->s.calls,
            sfshim_human_bytes(r->s.bytes, bytes, sizeof bytes), (ull)r->s.native_calls, (ull)r->s.mmap_calls,
            (ull)r->s.rw_calls, (ull)r->s.errors);
}

/* The text report: the total over all rows, then a line per process (the
 * kShownRows with the most bytes when there are more). Sorts `rows`. */
static void print_text(FILE *out, struct row *rows, size_t n, int files) {
    typedef unsigned long long ull;
    struct sfshim_stats total;
    struct sfshim_cache_stats cache;
    uint64_t processes = 0, exited = 0, running = 0, ended = 0, shared = 0;
    memset(&total, 0, sizeof total);
    memset(&cache, 0, sizeof cache);
    for (size_t i = 0; i < n; i++) {
        add_stats(&total, &rows[i].s);
        add_cache(&cache, &rows[i]);
        processes += rows[i].processes;
        if (strcmp(rows[i].state, "exited") == 0) exited++;
        else if (strcmp(rows[i].state, "running") == 0) running++;
        else if (strcmp(rows[i].state, "ended") == 0) ended++;
        else shared += rows[i].processes;
    }
    char who[256], part[64];
    int len = snprintf(who, sizeof who, "sfshim, %llu process%s", (ull)processes, processes == 1 ? "" : "es");
    if (files > 1) len += snprintf(who + len, sizeof who - (size_t)len, " in %d files", files);
    const char *sep = " (";
    const struct { uint64_t count; const char *name; } parts[] = {
        {exited, "exited"}, {running, "running"}, {ended, "ended"}, {shared, "in the shared slot"}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (!parts[i].count) continue;
        snprintf(part, sizeof part, "%s%llu %s", sep, (ull)parts[i].count, parts[i].name);
        len += snprintf(who + len, sizeof who - (size_t)len, "%s", part);
        sep = ", ";
    }
    if (processes) snprintf(who + len, sizeof who - (size_t)len, ")");
    char text[2048];
    sfshim_format_text(&total, who, text, sizeof text, &cache);
    fputs(text, out);

    fprintf(out, "  %8s  %-13s %8s %11s %8s %8s %8s %8s\n", "pid", "state", "calls", "bytes", "kernel", "mmap",
            "rw", "errors");
    size_t shown = n;
    if (n > kShownRows) {
        qsort(rows, n, sizeof rows[0], by_bytes_descending);
        shown = kShownRows;
    }
    for (size_t i = 0; i < shown; i++) print_row(out, &rows[i]);
    if (shown < n) {
        struct sfshim_stats rest;
        uint64_t more = 0;
        char bytes[32];
        memset(&rest, 0, sizeof rest);
        for (size_t i = shown; i < n; i++) {
            add_stats(&rest, &rows[i].s);
            more += rows[i].processes;
        }
        fprintf(out, "  ... and %llu more process%s: %llu calls, %s\n", (ull)more, more == 1 ? "" : "es",
                (ull)rest.calls, sfshim_human_bytes(rest.bytes, bytes, sizeof bytes));
    }
    if (ended)
        fprintf(out, "  ended: gone without exit (_exit, a fatal signal, or exec into a program without the shim)\n");
    if (running) fprintf(out, "  running: still counting; these are the counts so far\n");
}

static void print_json(FILE *out, const struct row *rows, size_t n) {
    char line[2048], extra[96];
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        if (r->pid == 0)
            snprintf(extra, sizeof extra, "\"state\":\"shared\",\"processes\":%llu", (unsigned long long)r->processes);
        else
            snprintf(extra, sizeof extra, "\"state\":\"%s\"", r->state);
        sfshim_format_json(&r->s, r->pid, r->mode, line, sizeof line, &r->c, extra);
        fputs(line, out);
    }
}

/* Reads the FILEs and reports them on `out` (text or JSON); a file no
 * process counted in is noted on `notes` (if not null), errors on stderr.
 * 0, or 1 if a file could not be read or is not a stats file. *reported:
 * the number of slots reported. */
static int report_files(char **files, int n_files, int json, FILE *out, FILE *notes, const char *prog,
                        size_t *reported) {
    struct rows rows = {NULL, 0, 0};
    int status = 0, used = 0;
    for (int i = 0; i < n_files; i++) {
        const char *path = files[i];
        char why[160];
        unsigned char *data = NULL;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        enum load_result res = LOAD_BAD;
        if (fd < 0) snprintf(why, sizeof why, "%s", strerror(errno));
        else res = load_stats(fd, &data, why, sizeof why);
        if (fd >= 0) close(fd);
        if (res == LOAD_BAD) {
            fprintf(stderr, "%s: %s: %s\n", prog, path, why);
            status = 1;
            continue;
        }
        size_t got = res == LOAD_OK ? collect_rows(data, &rows) : 0;
        free(data);
        if (got) used++;
        else if (notes) fprintf(notes, "%s: no process has called sendfile yet\n", path);
    }
    *reported = rows.n;
    if (rows.n && json) print_json(out, rows.v, rows.n);
    else if (rows.n) print_text(out, rows.v, rows.n, used);
    free(rows.v);
    return status;
}

/* ---- sfshim stats -------------------------------------------------------- */

int doctor_stats(int argc, char **argv) {
    int json = 0, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: sfshim stats [--json] FILE...\n"
                   "  What the processes that counted in each live stats file (SFSHIM_STATS=FILE,\n"
                   "  `sfshim --stats=FILE`) did: a total, then a line per process (exited, running,\n"
                   "  or ended without exit); with --json, one JSON object per process.\n"
                   "  Exit status: 0 read, 1 a FILE is not a live stats file, 2 usage.\n");
            return 0;
        } else {
            fprintf(stderr, "sfshim stats: unknown option '%s' (usage: sfshim stats [--json] FILE...)\n", argv[i]);
            return 2;
        }
    }
    if (i == argc) {
        fprintf(stderr, "usage: sfshim stats [--json] FILE...\n");
        return 2;
    }
    size_t reported;
    return report_files(argv + i, argc - i, json, stdout, json ? stderr : stdout, "sfshim stats", &reported);
}

/* ---- sfshim-doctor supervise -------------------------------------------- */

static volatile sig_atomic_t g_child;

static void forward_signal(int sig) {
    int saved = errno;
    if (g_child > 0) kill((pid_t)g_child, sig);
    errno = saved;
}

/* Dies of `sig` as the command did, so that a shell sees the same death
 * (no core file of this program: the command's is the one that counts). */
static void die_of(int sig) {
    struct rlimit no_core = {0, 0};
    sigset_t set;
    setrlimit(RLIMIT_CORE, &no_core);
    signal(sig, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    exit(128 + sig); /* a signal whose default is not to die */
}

/* Runs COMMAND as a child (same process group, same descriptors 0-2),
 * ignoring SIGINT and SIGQUIT as system() does and passing SIGTERM, SIGHUP,
 * SIGUSR1 and SIGUSR2 on to it; when it ends, reports FILE on stderr,
 * removes it, and ends as COMMAND did. */
int doctor_supervise(int argc, char **argv) {
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: sfshim-doctor supervise FILE -- COMMAND [ARGS...]\n");
        return 2;
    }
    char *file = argv[1];
    char **cmd = argv + 3;
    static const int forwarded[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
    static const int ignored[] = {SIGINT, SIGQUIT};
    enum { kForwarded = sizeof forwarded / sizeof forwarded[0], kIgnored = sizeof ignored / sizeof ignored[0] };
    struct sigaction old_forwarded[kForwarded], old_ignored[kIgnored], old_chld, sa;
    sigset_t block, saved_mask;

    /* Held until the child's pid is known: a signal that comes before is
     * passed on then, never lost and never sent to pid 0. */
    sigemptyset(&block);
    for (int i = 0; i < kForwarded; i++) sigaddset(&block, forwarded[i]);
    sigprocmask(SIG_BLOCK, &block, &saved_mask);
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < kForwarded; i++) {
        sigaction(forwarded[i], NULL, &old_forwarded[i]);
        sa.sa_handler = forward_signal;
        /* A signal this program was started ignoring stays ignored, in both. */
        if (old_forwarded[i].sa_handler != SIG_IGN) sigaction(forwarded[i], &sa, NULL);
    }
    sa.sa_handler = SIG_IGN;
    for (int i = 0; i < kIgnored; i++) sigaction(ignored[i], &sa, &old_ignored[i]);
    /* SIGCHLD ignored (as it may be inherited) would reap the child unseen. */
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, &old_chld);

    int exec_error[2];
    pid_t child = -1;
    if (pipe2(exec_error, O_CLOEXEC) != 0 || (child = fork()) < 0) {
        perror("sfshim: cannot start the command");
        unlink(file);
        return 126;
    }
    if (child == 0) {
        /* The command starts with the dispositions and mask this program had. */
        for (int i = 0; i < kForwarded; i++) sigaction(forwarded[i], &old_forwarded[i], NULL);
        for (int i = 0; i < kIgnored; i++) sigaction(ignored[i], &old_ignored[i], NULL);
        sigaction(SIGCHLD, &old_chld, NULL);
        sigprocmask(SIG_SETMASK, &saved_mask, NULL);
        close(exec_error[0]);
        execvp(cmd[0], cmd);
        int err = errno;
        ssize_t w = write(exec_error[1], &err, sizeof err);
        (void)w;
        _exit(err == ENOENT ? 127 : 126);
    }
    g_child = child;
    sigprocmask(SIG_SETMASK, &saved_mask, NULL);
    close(exec_error[1]);
    signal(SIGPIPE, SIG_IGN); /* a closed stderr costs the report, not the status */
    /* This process keeps no reader or writer of the command's input and
     * output open: its end is the command's alone. */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup3(null, 0, O_CLOEXEC);
        dup3(null, 1, O_CLOEXEC);
        if (null > 2) close(null);
    }

    int err = 0;
    ssize_t got;
    do got = read(exec_error[0], &err, sizeof err);
    while (got < 0 && errno == EINTR);
    close(exec_error[0]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR) {
            perror("sfshim: waitpid");
            unlink(file);
            return 126;
        }
    g_child = 0;

    if (got == (ssize_t)sizeof err) {
        /* The words of sh's exec. */
        if (err == ENOENT) fprintf(stderr, "sfshim: %s: command not found\n", cmd[0]);
        else fprintf(stderr, "sfshim: %s: %s\n", cmd[0], strerror(err));
        unlink(file);
        return err == ENOENT ? 127 : 126;
    }
    char *files[1] = {file};
    size_t reported = 0;
    if (report_files(files, 1, 0, stderr, NULL, "sfshim", &reported) == 0 && reported == 0)
        fprintf(stderr, "sfshim: no process called sendfile\n");
    unlink(file);
    if (WIFSIGNALED(status)) die_of(WTERMSIG(status));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* ---- a running process's counters (sfshim doctor PID) -------------------- */

/* The process's own pid in its innermost pid namespace (the one its slot
 * holds), from NSpid; else the pid given. */
static long own_pid(const char *pid_text) {
    char path[64], line[256];
    long pid = atol(pid_text);
    snprintf(path, sizeof path, "/proc/%s/status", pid_text);
    FILE *f = fopen(path, "re");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "NSpid:", 6) != 0) continue;
        char *last = strrchr(line, '\t');
        if (last) pid = atol(last + 1);
        break;
    }
    if (f) fclose(f);
    return pid;
}

/* Opens the file behind a mapping of `pid_text`: by its path when that is
 * the same file (device and inode as the mapping has them), else through
 * /proc/PID/map_files. -1 with `why` set if neither can be opened. */
static int open_mapped_file(const char *pid_text, const char *range, const char *path, int deleted,
                            dev_t dev, unsigned long inode, int *by_map_files, char *why, size_t why_size) {
    int path_err = ENOENT;
    *by_map_files = 0;
    if (!deleted) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == inode) return fd;
        path_err = fd < 0 ? errno : 0;
        if (fd >= 0) close(fd);
    }
    char by_map[128];
    snprintf(by_map, sizeof by_map, "/proc/%s/map_files/%s", pid_text, range);
    int fd = open(by_map, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    *by_map_files = fd >= 0;
    if (fd >= 0) return fd;
    int map_err = errno;
    snprintf(why, why_size, "%s: %s\n              %s: %s%s", path,
             deleted ? "removed" : path_err ? strerror(path_err) : "another file now (or in another mount namespace)",
             by_map, strerror(map_err),
             map_err == EPERM || map_err == EACCES ? " (opening it there takes root)" : "");
    return -1;
}

static void print_indented(const char *text, const char *indent) {
    while (*text) {
        size_t n = strcspn(text, "\n");
        printf("%s%.*s\n", indent, (int)n, text);
        text += n + (text[n] == '\n');
    }
}

/* Prints the slots of the process's stats file that are its own. */
static void print_own_slots(const unsigned char *data, long pid, const char *label) {
    unsigned last = 0, mine = 0;
    for (unsigned i = 1; i < SFSHIM_STATS_SLOTS; i++) {
        const struct sfshim_stats_slot *s = slot_at(data, i);
        if (s->state != SFSHIM_SLOT_FREE && s->pid == pid) last = i;
    }
    printf("  live counters (%s):\n", label);
    for (unsigned i = 1; i <= last; i++) {
        const struct sfshim_stats_slot *s = slot_at(data, i);
        if (s->state == SFSHIM_SLOT_FREE || s->pid != pid) continue;
        struct sfshim_stats st;
        struct sfshim_cache_stats c;
        char who[96], text[2048];
        sfshim_slot_read(s, &st, &c);
        snprintf(who, sizeof who, "sfshim[%ld]%s", pid, i == last ? "" : " before an exec");
        /* The cache's figures are written at exit: before, it has its counts only. */
        int exited = s->state == SFSHIM_SLOT_EXITED;
        sfshim_format_text(&st, who, text, sizeof text, exited ? &c : NULL);
        print_indented(text, "    ");
        if (!exited)
            printf("      cache     %8llu hits   misses %llu, bypasses %llu, evictions %llu (its mappings: at exit)\n",
                   (unsigned long long)c.hits, (unsigned long long)c.misses, (unsigned long long)c.bypasses,
                   (unsigned long long)c.evictions);
        mine++;
    }
    if (mine) return;
    const struct sfshim_stats_header *h = (const struct sfshim_stats_header *)data;
    if (h->claimed >= SFSHIM_STATS_SLOTS - 1)
        printf("    none of its own: the file is full, so it counts in the shared slot 0 with others\n");
    else
        printf("    none yet: it has not called sendfile (its slot is taken at the first call)\n");
}

/* For `sfshim doctor PID` when the shim is loaded there: the live counters
 * from the stats file the process has mapped, or why they cannot be shown. */
void doctor_live_counters(const char *pid_text) {
    char path[64], line[4096];
    snprintf(path, sizeof path, "/proc/%s/maps", pid_text);
    FILE *maps = fopen(path, "re");
    int found = 0;
    while (maps && !found && fgets(line, sizeof line, maps)) {
        unsigned long start, end, offset, inode;
        unsigned major, minor;
        char perms[8];
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &start, &end, perms, &offset, &major, &minor, &inode,
                   &name_at) < 7 || name_at == 0)
            continue;
        /* The library maps the whole file, shared and writable. */
        if (end - start != SFSHIM_STATS_FILE_SIZE || offset != 0 || strcmp(perms, "rw-s") != 0 ||
            line[name_at] != '/')
            continue;
        char *file = line + name_at;
        file[strcspn(file, "\n")] = 0;
        size_t len = strlen(file);
        int deleted = len > 10 && strcmp(file + len - 10, " (deleted)") == 0;
        if (deleted) file[len - 10] = 0;
        char range[64], why[1024];
        snprintf(range, sizeof range, "%lx-%lx", start, end);
        int by_map_files;
        int fd = open_mapped_file(pid_text, range, file, deleted, makedev(major, minor), inode, &by_map_files, why,
                                  sizeof why);
        if (fd < 0) {
            printf("  live counters not readable: the process counts in %s%s, which cannot be opened here:\n"
                   "              %s\n",
                   file, deleted ? " (deleted)" : "", why);
            found = 1;
            continue;
        }
        unsigned char *data = NULL;
        enum load_result res = load_stats(fd, &data, why, sizeof why);
        close(fd);
        if (res != LOAD_OK) continue; /* some other file of that size */
        found = 1;
        char label[1200];
        snprintf(label, sizeof label, "%s%s%s", file, deleted ? ", deleted" : "",
                 by_map_files ? "; read through /proc/PID/map_files" : "");
        print_own_slots(data, own_pid(pid_text), label);
        free(data);
    }
    if (maps) fclose(maps);
    if (!found)
        printf("  live counters not visible: the process has no stats file (start it with\n"
               "              `sfshim --stats=FILE` or SFSHIM_STATS=FILE, then `sfshim stats FILE`)\n");
}
