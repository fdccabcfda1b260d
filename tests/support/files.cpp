#include "files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "io.h"

#ifndef SFSHIM_TEST_SCRATCH_DIR
#define SFSHIM_TEST_SCRATCH_DIR "/tmp/sfshim-test"
#endif

namespace sftest {

// The directory named by `env`, or `fallback`, with its parents made.
static std::string ensure_dir(const char *env, const std::string &fallback)
{
    const char *e = std::getenv(env);
    std::string d = (e && *e) ? e : fallback;
    for (size_t i = 1; i <= d.size(); ++i)
        if (i == d.size() || d[i] == '/')
            mkdir(d.substr(0, i).c_str(), 0700);
    return d;
}

const std::string &scratch_dir()
{
    static const std::string d = ensure_dir("SFSHIM_DIFF_SCRATCH", SFSHIM_TEST_SCRATCH_DIR);
    return d;
}

const std::string &scratch_dir_tmpfs()
{
    static const std::string d = ensure_dir("SFSHIM_DIFF_SCRATCH_TMPFS", "/dev/shm");
    return d;
}

TempDir::TempDir(const std::string &under)
{
    std::string t = under + "/sfshim-test-XXXXXX";
    std::vector<char> buf(t.begin(), t.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()))
        dir = buf.data();
}

TempDir::~TempDir()
{
    if (dir.empty())
        return;
    if (DIR *d = opendir(dir.c_str())) {
        while (dirent *e = readdir(d))
            if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
                unlink(path(e->d_name).c_str());
        closedir(d);
    }
    rmdir(dir.c_str());
}

std::string file_contents(int fd, std::string *err)
{
    int r = proc_open("self/fd/" + std::to_string(fd), O_RDONLY);
    struct stat st;
    if (r < 0 || fstat(r, &st) != 0) {
        if (err)
            *err = "reopen the file: " + std::string(std::strerror(errno));
        if (r >= 0)
            close(r);
        return {};
    }
    std::string s;
    off_t from = 0;
    if (st.st_size > (off_t{256} << 20)) {
        from = st.st_size - (1 << 20);
        s = "[sparse file of " + std::to_string(st.st_size) + " bytes; its last MiB follows]";
    }
    std::string buf(1 << 20, '\0');
    for (;;) {
        ssize_t n = pread(r, &buf[0], buf.size(), from);
        if (n <= 0)
            break;
        s.append(buf.data(), static_cast<size_t>(n));
        from += n;
    }
    close(r);
    return s;
}

} // namespace sftest
