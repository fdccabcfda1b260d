/*
 * Sends its input file with sendfile, three calls of 65537 bytes, into
 * OUTDIR/<pid>.out, and then ends the way it is told, so that the test can
 * check that the shim's live stats file counted it however it ended:
 *
 *   ways_probe WAY INPUT OUTDIR [ROOT]
 *   exit       returns from main (exit handlers run)
 *   _exit      _exit(0): no exit handlers
 *   exit_group the raw exit_group system call
 *   kill       SIGKILL to itself
 *   segv       SIGSEGV to itself (default action: dies, core or not)
 *   abort      abort()
 *   term       prints "ready", then waits to be killed by the test's SIGTERM
 *   exec       execs /bin/true (the shim loads again there, sends nothing)
 *   fork       a child sends and _exits; the parent sends, waits, returns
 *   threads    four threads send at once (into <pid>.t<i>.out), then _exit
 *   chroot     sends, chroots into ROOT and drops to uid/gid 65534, sends
 *              again through the descriptors it has, then _exits
 *
 * Exit status 0 (where it exits at all), 1 on a failed call, 2 on usage.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kPiece = 65537, kCalls = 3 };
static int g_in = -1;
static const char *g_outdir;

static int open_out(const char *suffix) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%ld%s.out", g_outdir, (long)getpid(), suffix);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    return fd;
}

/* kCalls calls from the input's start into `out`: 0 if each sent its piece. */
static int send_into(int out) {
    off_t off = 0;
    for (int i = 0; i < kCalls; i++)
        if (sendfile(out, g_in, &off, kPiece) != kPiece) return 1;
    return 0;
}

static void *thread_main(void *arg) {
    char suffix[16];
    snprintf(suffix, sizeof suffix, ".t%ld", (long)(size_t)arg);
    int out = open_out(suffix);
    return (void *)(size_t)send_into(out);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: ways_probe WAY INPUT OUTDIR [ROOT]\n");
        return 2;
    }
    const char *way = argv[1];
    g_outdir = argv[3];
    g_in = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (g_in < 0) {
        perror(argv[2]);
        return 1;
    }
    if (strcmp(way, "threads") == 0) {
        pthread_t t[4];
        size_t i;
        for (i = 0; i < 4; i++) pthread_create(&t[i], NULL, thread_main, (void *)i);
        int bad = 0;
        for (i = 0; i < 4; i++) {
            void *r;
            pthread_join(t[i], &r);
            bad |= r != NULL;
        }
        _exit(bad);
    }
    int out = open_out("");
    if (send_into(out)) return 1;
    if (strcmp(way, "exit") == 0) return 0;
    if (strcmp(way, "_exit") == 0) _exit(0);
    if (strcmp(way, "exit_group") == 0) syscall(SYS_exit_group, 0);
    if (strcmp(way, "kill") == 0) kill(getpid(), SIGKILL);
    if (strcmp(way, "segv") == 0) {
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    if (strcmp(way, "abort") == 0) abort();
    if (strcmp(way, "term") == 0) {
        signal(SIGTERM, SIG_DFL);
        printf("ready\n");
        fflush(stdout);
        for (;;) pause();
    }
    if (strcmp(way, "exec") == 0) {
        execl("/bin/true", "true", (char *)NULL);
        return 1;
    }
    if (strcmp(way, "fork") == 0) {
        pid_t child = fork();
        if (child == 0) _exit(send_into(open_out("")));
        int status = 0;
        if (child < 0 || waitpid(child, &status, 0) != child || status != 0) return 1;
        return 0;
    }
    if (strcmp(way, "chroot") == 0 && argc > 4) {
        /* The output is opened before the chroot, the input is open already. */
        int out2 = open_out(".after");
        if (chroot(argv[4]) != 0 || chdir("/") != 0 || setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
            setuid(65534) != 0) {
            perror("chroot and drop");
            _exit(1);
        }
        _exit(send_into(out2));
    }
    fprintf(stderr, "ways_probe: unknown way '%s'\n", way);
    return 2;
}
