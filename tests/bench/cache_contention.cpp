// cache_contention: what the mapping cache's shared reference counts cost
// when threads send the same file at once, against each thread sending its
// own file (no shared entry): sender CPU per call, medians of interleaved
// rounds. Each sender thread writes 16 KiB calls into its own Unix stream
// socketpair, drained by a reader thread; CPU is the sender thread's own
// (RUSAGE_THREAD).
//
//   cache_contention [--threads N] [--rounds N] [--seconds S] [--size BYTES]
//
// SPDX-License-Identifier: BSD-2-Clause
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "sfshim/sfshim.h"

namespace {

double now() {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

double thread_cpu() {
    struct rusage r;
    getrusage(RUSAGE_THREAD, &r);
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

struct Result {
    double cpu_us_per_call;
    long calls;
};

// One sender: `seconds` of calls of the whole file, through the shim
// (mode) or the kernel (mode < 0).
Result send_for(const char* path, int mode, double seconds, size_t size) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        perror("socketpair");
        exit(1);
    }
    std::thread reader([fd = sv[1]] {
        static thread_local char buf[1 << 20];
        while (read(fd, buf, sizeof buf) > 0) {
        }
    });
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    long calls = 0;
    double c0 = thread_cpu(), t0 = now();
    while (now() - t0 < seconds) {
        int64_t off = 0;
        ssize_t r = mode < 0 ? sendfile64(sv[0], fd, reinterpret_cast<off64_t*>(&off), size)
                             : sfshim_sendfile_mode(static_cast<sfshim_mode>(mode), sv[0], fd, &off, size);
        if (r != static_cast<ssize_t>(size)) {
            fprintf(stderr, "cache_contention: sendfile returned %zd\n", r);
            exit(1);
        }
        ++calls;
    }
    double cpu = thread_cpu() - c0;
    close(fd);
    close(sv[0]);
    reader.join();
    close(sv[1]);
    return Result{cpu / static_cast<double>(calls) * 1e6, calls};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace



int main(int argc, char** argv) {
    int threads = 2, rounds = 5;
    double seconds = 1.0;
    size_t size = 16384;
    for (int i = 1; i < argc; i += 2) {
        std::string a = argv[i];
        if (i + 1 >= argc) a = "--help";  // every option takes a value
        if (a == "--threads") threads = atoi(argv[i + 1]);
        else if (a == "--rounds") rounds = atoi(argv[i + 1]);
        else if (a == "--seconds") seconds = atof(argv[i + 1]);
        else if (a == "--size") size = strtoul(argv[i + 1], nullptr, 0);
        else {
            fprintf(stderr, "usage: cache_contention [--threads N] [--rounds N] [--seconds S] [--size BYTES]\n");
            return 2;
        }
    }
    const char* dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
    std::vector<std::string> files;
    std::vector<char> bytes(size);
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(i * 131 + 7);
    for (int t = 0; t < threads; ++t) {
        files.push_back(std::string(dir) + "/cache_contention." + std::to_string(getpid()) + "." + std::to_string(t));
        int fd = open(files.back().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || write(fd, bytes.data(), size) != static_cast<ssize_t>(size)) {
            perror(files.back().c_str());
            return 1;
        }
        close(fd);
    }
    // kernel, same file; shim, same file; shim, one file per thread:
    // interleaved in every round.
    const char* names[3] = {"kernel, same file", "shim (emulate), same file", "shim (emulate), own file"};
    std::vector<double> per_call[3];
    for (int r = 0; r < rounds; ++r) {
        for (int k = 0; k < 3; ++k) {
            std::vector<Result> res(static_cast<size_t>(threads));
            std::vector<std::thread> senders;
            for (int t = 0; t < threads; ++t)
                senders.emplace_back([&, t] {
                    const char* path = files[k == 2 ? static_cast<size_t>(t) : 0].c_str();
                    res[static_cast<size_t>(t)] = send_for(path, k == 0 ? -1 : SFSHIM_MODE_EMULATE, seconds, size);
                });
            for (auto& s : senders) s.join();
            double sum = 0;
            for (auto& x : res) sum += x.cpu_us_per_call;
            per_call[k].push_back(sum / threads);
        }
    }
    struct sfshim_cache_stats cs;
    sfshim_cache_stats_get(&cs);
    printf("| %d sender threads, %zu-byte calls into Unix sockets | sender CPU per call (median of %d rounds) | x kernel |\n",
           threads, size, rounds);
    printf("|---|---:|---:|\n");
    double kernel = median(per_call[0]);
    for (int k = 0; k < 3; ++k)
        printf("| %s | %.2f us | %.2fx |\n", names[k], median(per_call[k]), median(per_call[k]) / kernel);
    printf("\ncache: %llu hits, %llu misses, %llu evictions\n", static_cast<unsigned long long>(cs.hits),
           static_cast<unsigned long long>(cs.misses), static_cast<unsigned long long>(cs.evictions));
    for (auto& f : files) unlink(f.c_str());
    return 0;
}
