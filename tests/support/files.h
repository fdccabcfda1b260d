// Where the suites put their files: scratch directories on the build tree's
// file system (ext4 here) and on tmpfs, directories of one test's own, and
// reading a whole file back.
#pragma once

#include <string>

namespace sftest {

// The build tree's scratch directory (SFSHIM_DIFF_SCRATCH overrides it) and
// the tmpfs one (/dev/shm; SFSHIM_DIFF_SCRATCH_TMPFS overrides it). Made on
// first use.
const std::string &scratch_dir();
const std::string &scratch_dir_tmpfs();

// A new directory under `under` (mkdtemp), removed with the files in it when
// the object goes. `dir` is empty when it could not be made. Made and
// removed by the parent, so that a crashed child leaves nothing behind.
struct TempDir {
    std::string dir;
    explicit TempDir(const std::string &under);
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    std::string path(const std::string &name) const { return dir + "/" + name; }
};

// The contents of the file open at fd, read through a description of its
// own (/proc/self/fd/N, the harness's real /proc: proc_open), so that a
// write-only descriptor and the file position are no matter. A file over
// 256 MiB (a sparse one, with positions near the file system's limit) is
// summarised as its size and its last MiB. "" with *err set, when given,
// when it cannot be read.
std::string file_contents(int fd, std::string *err = nullptr);

} // namespace sftest
