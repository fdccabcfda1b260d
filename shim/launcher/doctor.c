/*
 * sfshim-doctor (run as `sfshim doctor`): tells whether this kernel's
 * sendfile works, whether a program can be reached by the shim, and whether
 * a running process has it loaded.
 *
 *   sfshim doctor            the kernel: file to socket, pipe and file
 *   sfshim doctor COMMAND    the kernel, and can the shim reach COMMAND?
 *   sfshim doctor PID        the kernel, and is the shim loaded in PID?
 *                            (with its live counters, if it has a stats file)
 *   sfshim stats [--json] FILE...        live stats files (doctor_stats.c)
 *   sfshim-doctor supervise FILE -- CMD  `sfshim --stats` (doctor_stats.c)
 *
 * Exit status: 0 all is well (alone: the kernel's sendfile works; with
 * COMMAND: the shim can reach it; with PID: the shim is loaded there),
 * 1 it is not, 2 usage error.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

/* doctor_stats.c */
int doctor_stats(int argc, char **argv);
int doctor_supervise(int argc, char **argv);
void doctor_live_counters(const char *pid_text);

/* ---- the kernel ---------------------------------------------------------- */

enum sink { SINK_TCP, SINK_UNIX, SINK_PIPE, SINK_FILE };
static const char *const kSinkNames[] = {"file -> TCP socket", "file -> Unix socket",
                                         "file -> pipe", "file -> file"};

/* Makes a connected output/reader pair for the sink; -1 on failure. */
static int make_sink(enum sink s, int *out, int *reader, char *tmp) {
    int fds[2];
    switch (s) {
    case SINK_TCP: {
        int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
            getsockname(l, (struct sockaddr *)&a, &len)) {
            if (l >= 0) close(l);
            return -1;
        }
        *out = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (*out < 0 || connect(*out, (struct sockaddr *)&a, sizeof a)) {
            close(l);
            return -1;
        }
        *reader = accept(l, NULL, NULL);
        close(l);
        return *reader < 0 ? -1 : 0;
    }
    case SINK_UNIX:
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)) return -1;
        break;
    case SINK_PIPE:
        if (pipe2(fds, O_CLOEXEC)) return -1;
        *reader = fds[0];
        *out = fds[1];
        return 0;
    case SINK_FILE:
        *out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        *reader = -1;
        return *out < 0 ? -1 : 0;
    }
    *out = fds[0];
    *reader = fds[1];
    return 0;
}

/* 0 if the kernel's own sendfile moved the bytes; else its errno. The raw
 * syscall, so that a preloaded shim does not answer for the kernel. */
static int kernel_sendfile_works(enum sink s, const char *src, char *tmp) {
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = -1, reader = -1, err = 0;
    if (in < 0) return errno;
    if (make_sink(s, &out, &reader, tmp) != 0) {
        err = errno ? errno : EIO;
    } else {
        off_t off = 0;
        long r = syscall(SYS_sendfile, out, in, &off, 100);
        err = r == 100 ? 0 : r < 0 ? errno : EIO;
    }
    if (out >= 0) close(out);
    if (reader >= 0) close(reader);
    close(in);
    return err;
}

/* The Linux-compatibility layer this kernel is, where it says so, and
 * whether its sendfile keeps Linux's accounting of partial counts (as the
 * library asks it: shim/src/platform/linux.cpp, native_sendfile_keeps_counts):
 * uname's version names FreeBSD's linuxulator and illumos LX, and only
 * FreeBSD's layer refuses a count of 0 (EINVAL) where Linux returns 0. */
static int check_layer(const char *src) {
    struct utsname u;
    const char *layer = NULL;
    if (uname(&u) == 0) {
        if (strncmp(u.version, "FreeBSD", 7) == 0) layer = "FreeBSD linuxulator";
        else if (strstr(u.version, "BrandZ")) layer = "illumos LX";
    }
    int in = open(src, O_RDONLY | O_CLOEXEC), sv[2], count0 = -1;
    if (in >= 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
        off_t off = 0;
        count0 = syscall(SYS_sendfile, sv[0], in, &off, 0) == 0 ? 0 : errno;
        close(sv[0]);
        close(sv[1]);
    }
    if (in >= 0) close(in);
    printf("  %-22s %s %s (%s)\n", "system", u.sysname, u.release, layer ? layer : "no layer named in uname");
    printf("  %-22s %s%s\n", "count 0", count0 == 0 ? "returns 0, as on Linux" : "refused: ",
           count0 > 0 ? strerrorname_np(count0) : count0 < 0 ? "not asked" : "");
    if (layer == NULL && count0 == ENOSYS) {
        printf("  %-22s none with sendfile (ENOSYS), as NetBSD's compat_linux: the shim (mode auto)\n"
               "  %-22s emulates every call from the first\n", "layer", "");
        return 0;
    }
    if (layer == NULL && count0 != EINVAL) return 0;
    printf("  %-22s %s: its sendfile drops the count of bytes it moved before\n"
           "  %-22s EAGAIN or EINTR; the shim (mode auto) passes no call to it and emulates every one\n",
           "layer", layer ? layer : "one that refuses count 0, as FreeBSD's linuxulator does", "");
    return 1;
}

static int check_kernel(void) {
    char dir[] = "/tmp/sfshim-doctor-XXXXXX";
    char src[64], tmp[64];
    if (!mkdtemp(dir)) {
        perror("sfshim doctor: mkdtemp");
        return 1;
    }
    snprintf(src, sizeof src, "%s/in", dir);
    snprintf(tmp, sizeof tmp, "%s/out", dir);
    int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    char data[100];
    memset(data, 'x', sizeof data);
    if (fd < 0 || write(fd, data, sizeof data) != (ssize_t)sizeof data) {
        perror("sfshim doctor: scratch file");
        return 1;
    }
    close(fd);

    int failures = 0;
    printf("kernel sendfile (%s):\n", dir);
    for (int s = SINK_TCP; s <= SINK_FILE; s++) {
        int err = kernel_sendfile_works((enum sink)s, src, tmp);
        if (err) failures++;
        printf("  %-22s %s%s\n", kSinkNames[s], err ? "FAILS: " : "works", err ? strerrorname_np(err) : "");
    }
    int untrusted = check_layer(src);
    unlink(src);
    unlink(tmp);
    rmdir(dir);

    /* A seccomp filter is the usual reason on Linux itself. */
    FILE *st = fopen("/proc/self/status", "re");
    char line[256];
    while (st && fgets(line, sizeof line, st))
        if (strncmp(line, "Seccomp:", 8) == 0 && atoi(line + 8) != 0)
            printf("  (this process runs under a seccomp filter)\n");
    if (st) fclose(st);
    if (untrusted)
        printf("  => sendfile cannot be trusted here: programs need the shim\n");
    else
        printf("  => %s\n", failures ? "sendfile is refused here: programs need the shim"
                                     : "sendfile works here: the shim passes calls through (mode auto)");
    return failures || untrusted ? 1 : 0;
}

/* ---- a program ----------------------------------------------------------- */

struct elf_facts {
    int is_elf, is_dynamic, imports_sendfile, is_go;
    char needed[32][128];
    int n_needed;
};

/* Reads what matters from a 64-bit ELF file: dynamic or static, whether its
 * dynamic symbols import sendfile/sendfile64, its DT_NEEDED names, Go. */
static void read_elf(const char *path, struct elf_facts *f) {
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) || sb.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        if (fd >= 0) close(fd);
        return;
    }
    size_t size = (size_t)sb.st_size;
    unsigned char *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shoff == 0 || eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > size) {
        f->is_elf = memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0;
        munmap(m, size);
        return;
    }
    f->is_elf = 1;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(m + eh->e_shoff);
    const char *shstr = eh->e_shstrndx < eh->e_shnum ? (const char *)m + sh[eh->e_shstrndx].sh_offset : NULL;
    for (int i = 0; i < eh->e_shnum; i++) {
        const Elf64_Shdr *s = &sh[i];
        if (s->sh_offset + s->sh_size > size) continue;
        if (shstr && (strcmp(shstr + s->sh_name, ".note.go.buildid") == 0 ||
                      strcmp(shstr + s->sh_name, ".gopclntab") == 0))
            f->is_go = 1;
        if (s->sh_type == SHT_DYNAMIC) f->is_dynamic = 1;
        if ((s->sh_type != SHT_DYNSYM && s->sh_type != SHT_DYNAMIC) || s->sh_link >= eh->e_shnum) continue;
        const Elf64_Shdr *strsec = &sh[s->sh_link];
        const char *strtab = (const char *)m + strsec->sh_offset;
        if (s->sh_type == SHT_DYNSYM) {
            const Elf64_Sym *sym = (const Elf64_Sym *)(m + s->sh_offset);
            for (size_t k = 0; k < s->sh_size / sizeof *sym; k++) {
                if (sym[k].st_shndx != SHN_UNDEF || sym[k].st_name >= strsec->sh_size) continue;
                const char *n = strtab + sym[k].st_name;
                if (strcmp(n, "sendfile") == 0 || strcmp(n, "sendfile64") == 0) f->imports_sendfile = 1;
            }
        } else {
            const Elf64_Dyn *d = (const Elf64_Dyn *)(m + s->sh_offset);
            for (size_t k = 0; k < s->sh_size / sizeof *d && d[k].d_tag != DT_NULL; k++)
                if (d[k].d_tag == DT_NEEDED && f->n_needed < 32 && d[k].d_un.d_val < strsec->sh_size)
                    snprintf(f->needed[f->n_needed++], sizeof f->needed[0], "%s", strtab + d[k].d_un.d_val);
        }
    }
    munmap(m, size);
}

/* The path of a command, as exec would find it. */
static int resolve(const char *cmd, char *out, size_t size) {
    if (strchr(cmd, '/')) {
        snprintf(out, size, "%s", cmd);
        return access(out, X_OK) == 0 ? 0 : -1;
    }
    const char *path = getenv("PATH");
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *end = strchrnul(path, ':');
        snprintf(out, size, "%.*s/%s", (int)(end - path), end == path ? "." : path, cmd);
        struct stat sb;
        if (stat(out, &sb) == 0 && S_ISREG(sb.st_mode) && access(out, X_OK) == 0) return 0;
        path = *end ? end + 1 : end;
    }
    return -1;
}

/* Where ld.so finds a needed library: asks ldd, which knows the cache. */
static int library_path(const char *program, const char *name, char *out, size_t size) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ldd '%s' 2>/dev/null", program);
    FILE *p = popen(cmd, "re");
    if (!p) return -1;
    char line[1024];
    int found = -1;
    while (found && fgets(line, sizeof line, p)) {
        char lib[512], path[512];
        if (sscanf(line, " %511s => %511s", lib, path) == 2 && strcmp(lib, name) == 0 && path[0] == '/') {
            snprintf(out, size, "%s", path);
            found = 0;
        }
    }
    pclose(p);
    return found;
}

static int check_program(const char *cmd) {
    char path[1024];
    printf("\nprogram %s:\n", cmd);
    if (resolve(cmd, path, sizeof path) != 0) {
        printf("  not found or not executable\n  => the shim cannot reach it\n");
        return 1;
    }
    char head[2] = {0};
    FILE *fp = fopen(path, "re");
    if (fp) {
        if (fread(head, 1, 2, fp) != 2) head[0] = 0;
        fclose(fp);
    }
    if (head[0] == '#' && head[1] == '!') {
        printf("  %s is a script: ask about its interpreter instead\n", path);
        return 0;
    }
    struct elf_facts f;
    read_elf(path, &f);
    printf("  file        %s\n", path);
    if (!f.is_elf) {
        printf("  not a 64-bit ELF program this tool can read\n");
        return 1;
    }
    printf("  linking     %s\n", f.is_dynamic ? "dynamic" : "static");
    if (f.is_go) printf("  language    Go (makes raw system calls)\n");
    const char *via = f.imports_sendfile ? "the program itself" : NULL;
    char libpath[512];
    static char via_lib[160];
    for (int i = 0; !via && i < f.n_needed; i++) {
        struct elf_facts lf;
        if (library_path(path, f.needed[i], libpath, sizeof libpath) != 0) continue;
        read_elf(libpath, &lf);
        if (lf.imports_sendfile) {
            snprintf(via_lib, sizeof via_lib, "%s", f.needed[i]);
            via = via_lib;
        }
    }
    if (f.is_dynamic && via) {
        printf("  sendfile    imported by %s\n  => the shim can reach it (LD_PRELOAD or `sfshim -- %s`)\n", via, cmd);
        return 0;
    }
    printf("  sendfile    not imported%s\n  => the shim cannot reach it: %s\n",
           f.is_dynamic ? "" : " (static program)",
           f.is_dynamic ? "it does not call glibc's sendfile (raw syscalls, or none at all)"
                        : "LD_PRELOAD does not apply to static programs");
    return 1;
}

/* ---- a running process --------------------------------------------------- */

static int check_pid(const char *arg) {
    char path[64], line[1024];
    printf("\nprocess %s:\n", arg);
    snprintf(path, sizeof path, "/proc/%s/maps", arg);
    FILE *m = fopen(path, "re");
    if (!m) {
        printf("  cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }
    char lib[512] = "";
    while (fgets(line, sizeof line, m)) {
        char *p = strstr(line, "libsfshim.so");
        if (p) {
            char *start = strchr(line, '/');
            line[strcspn(line, "\n")] = 0;
            snprintf(lib, sizeof lib, "%s", start ? start : p);
            break;
        }
    }
    fclose(m);
    snprintf(path, sizeof path, "/proc/%s/exe", arg);
    char exe[512];
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        printf("  program     %s\n", exe);
    }
    snprintf(path, sizeof path, "/proc/%s/status", arg);
    FILE *st = fopen(path, "re");
    while (st && fgets(line, sizeof line, st))
        if (strncmp(line, "Seccomp:", 8) == 0)
            printf("  seccomp     %s\n", atoi(line + 8) ? "filtered (the kernel may refuse sendfile)" : "none");
    if (st) fclose(st);
    /* The shim's settings, when this user may read them. */
    snprintf(path, sizeof path, "/proc/%s/environ", arg);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char env[65536];
        ssize_t len = read(fd, env, sizeof env - 1);
        close(fd);
        for (ssize_t i = 0; len > 0 && i < len; i += (ssize_t)strlen(env + i) + 1) {
            env[len] = 0;
            if (strncmp(env + i, "SFSHIM_", 7) == 0 || strncmp(env + i, "LD_PRELOAD=", 11) == 0)
                printf("  environment %s\n", env + i);
        }
    }
    if (lib[0]) {
        printf("  shim        loaded: %s\n", lib);
        doctor_live_counters(arg);
        printf("  => its sendfile calls go through the shim\n");
        return 0;
    }
    printf("  shim        not loaded\n  => start it with `sfshim -- COMMAND` or LD_PRELOAD\n");
    return 1;
}

static int all_digits(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "stats") == 0) return doctor_stats(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "supervise") == 0) return doctor_supervise(argc - 1, argv + 1);
    if (argc > 2 || (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))) {
        fprintf(argc > 2 ? stderr : stdout,
                "usage: sfshim doctor [COMMAND | PID]\n"
                "       sfshim stats [--json] FILE...\n"
                "  Tells whether this kernel's sendfile works (file to TCP and Unix sockets, pipe,\n"
                "  file); with COMMAND, whether the shim can reach that program; with PID, whether\n"
                "  the shim is loaded in that process, and its live counters if it has a stats file.\n"
                "  Exit status: 0 all is well, 1 something needs attention, 2 usage.\n"
                "  `sfshim stats FILE` reports a live stats file (SFSHIM_STATS=FILE).\n");
        return argc > 2 ? 2 : 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int kernel = check_kernel();
    if (argc == 1) return kernel;
    return all_digits(argv[1]) ? check_pid(argv[1]) : check_program(argv[1]);
}
