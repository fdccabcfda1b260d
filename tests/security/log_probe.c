/*
 * Sends 4 KiB of its own executable through sendfile into a socket pair it
 * reads back, prints "sent=N", and exits normally (the shim then writes its
 * stats). With a second argument DATA, it first puts a data file of its own
 * at descriptor 2 and writes "DATA\n" into it, as a program that closed its
 * stderr (or found it closed) and opened its own file there: with "reopen"
 * it closes descriptor 2 first, with "open" it expects it closed already.
 * The log tests check that none of the shim's lines land in that file.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc == 3) {
        if (strcmp(argv[1], "reopen") == 0) close(2);
        int data = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (data != 2) {
            printf("the data file is descriptor %d, not 2\n", data);
            return 2;
        }
        if (write(data, "DATA\n", 5) != 5) return 2;
    }
    int sv[2];
    int in = open("/proc/self/exe", O_RDONLY);
    if (in < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 2;
    off_t off = 0;
    ssize_t r = sendfile(sv[0], in, &off, 4096);
    char buf[4096];
    ssize_t got = r > 0 ? read(sv[1], buf, sizeof buf) : 0;
    printf("sent=%ld got=%ld\n", (long)r, (long)got);
    return r == 4096 && got > 0 ? 0 : 1;
}
