/*
 * Sends a few bytes of its own executable to /dev/null with sendfile, then
 * prints whether the shim is loaded (its sfshim_version is found), its
 * effective IDs and permitted capabilities, and exits: enough for the shim
 * to write its stats at exit. The security tests run it set-user-ID,
 * set-group-ID, with file capabilities, and plain.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

int main(void) {
    int in = open("/proc/self/exe", O_RDONLY);
    int out = open("/dev/null", O_WRONLY);
    off_t off = 0;
    ssize_t r = in >= 0 && out >= 0 ? sendfile(out, in, &off, 4096) : -1;
    char line[256], caps[64] = "?";
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(line, sizeof line, status))
        if (sscanf(line, "CapPrm: %63s", caps) == 1) break;
    if (status) fclose(status);
    printf("sent=%ld shim=%s caps=%s egid=%ld euid=%ld\n", (long)r,
           dlsym(RTLD_DEFAULT, "sfshim_version") ? "loaded" : "absent", caps, (long)getegid(), (long)geteuid());
    return r > 0 ? 0 : 1;
}
