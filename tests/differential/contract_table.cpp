// The kernel's sendfile contract, one row per behaviour: a sentence that
// names it, a one-line reason, and the case. Every expectation comes from
// running the case through the kernel's own sendfile.
#include <catch2/catch.hpp>
#include <climits>
#include <cstdint>
#include <unistd.h>

#include "differential.h"

using namespace sfdiff;

namespace {

constexpr int64_t kExt4Limit = (int64_t{1} << 44) - 4096; // ext4 s_maxbytes with 4 KiB blocks
constexpr uint64_t kMaxRw = 0x7ffff000;                    // MAX_RW_COUNT

Spec file(uint64_t size, Fs fs = Fs::Ext4) { return Spec().input(In::File).on(fs).size(size); }

// A file of `size` bytes sent into itself through one O_RDWR descriptor whose
// position (where the output goes) is `out_pos`.
Spec self(uint64_t size, int64_t out_pos, Fs fs = Fs::Ext4)
{
    return Spec().input(In::SameAsOut).size(size).output_file(Access::ReadWrite, fs).output_prefill(0, out_pos);
}

// The same through two descriptors of the file: an O_RDWR one for the output
// at `out_pos`, an O_RDONLY one for the input.
Spec same_file(uint64_t size, int64_t out_pos)
{
    return Spec().input(In::SameFile).size(size).output_file(Access::ReadWrite).output_prefill(0, out_pos);
}

const char *sysfs_file()
{
    static const char *const candidates[] = {"/sys/devices/system/cpu/possible",
                                             "/sys/devices/system/cpu/online",
                                             "/sys/kernel/mm/transparent_hugepage/enabled"};
    for (const char *c : candidates)
        if (access(c, R_OK) == 0)
            return c;
    return candidates[0];
}

} // namespace

// Each row also carries the tag of its half of the table ([contract-a],
// [contract-b]), so that memcheck runs the table in two entries that ctest
// -j spreads over the cores (tests/CMakeLists.txt).
#define CONTRACT_HALF "[contract-a]"
#define CONTRACT(name, reason, spec)            \
    TEST_CASE(name, "[contract]" CONTRACT_HALF) \
    {                                           \
        INFO("why: " << reason);                \
        check_against_kernel(spec);             \
    }

// 1. in_fd invalid or not open for reading: EBADF.
CONTRACT("a closed in_fd gives EBADF", "fdget finds nothing",
         Spec().input(In::Closed).output(Out::DevNull).bytes(10))
CONTRACT("an in_fd of -1 gives EBADF", "fdget finds nothing",
         Spec().input(In::MinusOne).output(Out::DevNull).bytes(10))
CONTRACT("a huge in_fd gives EBADF", "beyond the descriptor table",
         Spec().input(In::Huge).output(Out::DevNull).bytes(10))
CONTRACT("a write-only in_fd gives EBADF", "FMODE_READ is checked first",
         Spec().input(In::WriteOnly).size(100).output(Out::DevNull).bytes(10))
CONTRACT("an O_PATH in_fd gives EBADF", "O_PATH descriptors are not readable",
         Spec().input(In::OPath).size(100).output(Out::DevNull).bytes(10))
CONTRACT("a closed in_fd gives EBADF even with count 0", "count is not looked at before the descriptors",
         Spec().input(In::Closed).output(Out::DevNull).bytes(0))
CONTRACT("a closed in_fd gives EBADF before a negative count", "in_fd is checked before count",
         Spec().input(In::Closed).output(Out::DevNull).bytes(UINT64_MAX))

// 2. offset given but in_fd not seekable: ESPIPE.
CONTRACT("an offset with a pipe as input gives ESPIPE", "pipes lack FMODE_PREAD",
         Spec().input(In::Pipe).size(100).output(Out::DevNull).at(0).bytes(10))
CONTRACT("an offset with a unix socket as input gives ESPIPE", "sockets lack FMODE_PREAD",
         Spec().input(In::UnixStream).size(100).output(Out::Pipe).at(0).bytes(10))
CONTRACT("an offset with a tcp socket as input gives ESPIPE", "sockets lack FMODE_PREAD",
         Spec().input(In::Tcp).size(100).output(Out::Pipe).at(0).bytes(10))
CONTRACT("an offset with an eventfd as input gives ESPIPE", "eventfd lacks FMODE_PREAD",
         Spec().input(In::Eventfd).output(Out::DevNull).at(0).bytes(8))
CONTRACT("an offset with a pipe as input gives ESPIPE even when out_fd is closed", "ESPIPE comes before out_fd is looked up",
         Spec().input(In::Pipe).size(100).output(Out::Closed).at(0).bytes(10))
CONTRACT("an offset with a pipe as input gives ESPIPE before a negative count", "ESPIPE comes before rw_verify_area",
         Spec().input(In::Pipe).size(100).output(Out::DevNull).at(0).bytes(UINT64_MAX))

// 3. count negative, *offset negative, offset + count overflowing: EINVAL.
CONTRACT("a negative count gives EINVAL", "rw_verify_area refuses counts above SSIZE_MAX",
         file(100).output(Out::DevNull).bytes(UINT64_MAX))
CONTRACT("a count of SSIZE_MAX plus one gives EINVAL", "negative as ssize_t",
         file(100).output(Out::DevNull).bytes(uint64_t{1} << 63))
CONTRACT("a negative count gives EINVAL even when out_fd is closed", "count is checked before out_fd",
         file(100).output(Out::Closed).bytes(UINT64_MAX))
CONTRACT("a negative offset value gives EINVAL", "rw_verify_area refuses negative positions",
         file(100).output(Out::DevNull).at(-1).bytes(10))
CONTRACT("a negative offset value gives EINVAL even with count 0", "the position is checked whatever the count",
         file(100).output(Out::DevNull).at(-4096).bytes(0))
CONTRACT("INT64_MIN as offset gives EINVAL", "negative position",
         file(100).output(Out::DevNull).at(INT64_MIN).bytes(1))
CONTRACT("offset plus count overflowing gives EINVAL", "pos + count wraps past LLONG_MAX",
         file(100, Fs::Tmpfs).output(Out::DevNull).at(INT64_MAX - 5).bytes(10))
CONTRACT("an offset plus a count of SSIZE_MAX overflows and gives EINVAL", "the overflow check uses the unclamped count",
         file(100).output(Out::DevNull).at(100).bytes(INT64_MAX))
CONTRACT("a count of SSIZE_MAX from position 0 is clamped and sends the file", "0 + SSIZE_MAX does not overflow",
         file(10000).output(Out::UnixStream).bytes(INT64_MAX))

// 4. count above MAX_RW_COUNT is clamped.
CONTRACT("a count above MAX_RW_COUNT is clamped to 0x7ffff000", "MAX_RW_COUNT caps every transfer",
         Spec().input(In::File).sparse(uint64_t{3} << 30).output(Out::DevNull).at(0).bytes(0xffffffffull))
CONTRACT("a count of exactly MAX_RW_COUNT plus one sends MAX_RW_COUNT from /dev/zero", "clamped, not refused",
         Spec().input(In::DevZero).output(Out::DevNull).bytes(kMaxRw + 1))

// 5. out_fd invalid or not open for writing: EBADF.
CONTRACT("a closed out_fd gives EBADF", "fdget finds nothing",
         file(100).output(Out::Closed).bytes(10))
CONTRACT("an out_fd of -1 gives EBADF", "fdget finds nothing",
         file(100).output(Out::MinusOne).bytes(10))
CONTRACT("a huge out_fd gives EBADF", "beyond the descriptor table",
         file(100).output(Out::Huge).bytes(10))
CONTRACT("a read-only out_fd gives EBADF", "FMODE_WRITE is required",
         file(100).output_file(Access::ReadOnly).bytes(10))
CONTRACT("a read-only out_fd gives EBADF even with count 0", "checked before count matters",
         file(100).output_file(Access::ReadOnly).bytes(0))
CONTRACT("a closed out_fd gives EBADF even with an offset at EOF", "EOF is not looked at first",
         file(100).output(Out::Closed).at(100).bytes(10))

// 6. position at or past the file-size limit: EOVERFLOW.
CONTRACT("an offset just below ext4's size limit reads as end of file", "pos < s_maxbytes: the count is shortened",
         file(100).output(Out::DevNull).at(kExt4Limit - 1).bytes(1))
CONTRACT("an offset at ext4's size limit gives EOVERFLOW", "pos >= min(s_maxbytes)",
         file(100).output(Out::DevNull).at(kExt4Limit).bytes(1))
CONTRACT("an offset at ext4's size limit with count 0 gives 0", "pos + 0 does not pass the limit",
         file(100).output(Out::DevNull).at(kExt4Limit).bytes(0))
CONTRACT("an offset past ext4's size limit with count 0 gives EOVERFLOW", "pos + 0 > limit",
         file(100).output(Out::DevNull).at(kExt4Limit + 1).bytes(0))
CONTRACT("a count that crosses ext4's size limit is shortened and reads end of file", "only count is cut",
         file(100).output(Out::DevNull).at(kExt4Limit - 10).bytes(100))
CONTRACT("an offset near INT64_MAX on ext4 gives EOVERFLOW", "far past ext4's limit",
         file(100).output(Out::DevNull).at(INT64_MAX - 1).bytes(1))
CONTRACT("an offset near INT64_MAX on tmpfs reads as end of file", "tmpfs allows MAX_LFS_FILESIZE",
         file(100, Fs::Tmpfs).output(Out::DevNull).at(INT64_MAX - 1).bytes(1))
CONTRACT("a tmpfs input at ext4's limit into an ext4 file gives EOVERFLOW", "the limit is the smaller of both file systems",
         file(100, Fs::Tmpfs).output_file(Access::WriteOnly, Fs::Ext4).at(kExt4Limit).bytes(1))
CONTRACT("a tmpfs input at ext4's limit into a tmpfs file reads as end of file", "both allow MAX_LFS_FILESIZE",
         file(100, Fs::Tmpfs).output_file(Access::WriteOnly, Fs::Tmpfs).at(kExt4Limit).bytes(1))
CONTRACT("a tmpfs input at ext4's limit into a pipe reads as end of file", "a pipe's own s_maxbytes is large",
         file(100, Fs::Tmpfs).output(Out::Pipe).nonblocking().at(kExt4Limit).bytes(1))
CONTRACT("an input position near the limit with a NULL offset gives EOVERFLOW", "the file position is checked the same way",
         file(100).position(kExt4Limit).output(Out::DevNull).bytes(1))
CONTRACT("an output file position at ext4's limit gives EFBIG and SIGXFSZ", "the write side refuses past s_maxbytes",
         file(1000).output_file(Access::WriteOnly).output_prefill(0, kExt4Limit).bytes(10))
CONTRACT("an output file position just below ext4's limit gives a short count", "the write is cut at s_maxbytes",
         file(1000).output_file(Access::WriteOnly).output_prefill(0, kExt4Limit - 100).bytes(1000))

// 7. O_APPEND output, directory input, no usable read path: EINVAL.
CONTRACT("an O_APPEND output file gives EINVAL", "splice refuses O_APPEND outputs",
         file(1000).output_file(Access::Append).output_prefill(10, 10).bytes(100))
CONTRACT("an O_APPEND output gives EINVAL even with count 0", "checked before the length",
         file(1000).output_file(Access::Append).bytes(0))
CONTRACT("a pipe with O_APPEND set still takes the data", "the O_APPEND refusal is on the direct path only",
         file(10000).output(Out::Pipe).append_flag().at(1).bytes(5000))
CONTRACT("a unix socket with O_APPEND set gives the kernel's answer", "sockets take the direct path, which refuses O_APPEND",
         file(10000).output(Out::UnixStream).append_flag().at(1).bytes(5000))
CONTRACT("a unix socket with O_APPEND set and count 0 gives the kernel's answer", "O_APPEND is checked before the length",
         file(10000).output(Out::UnixStream).append_flag().bytes(0))
CONTRACT("a directory as input with count 0 gives 0", "count 0 returns before splice_read is needed",
         Spec().input(In::Directory).output(Out::DevNull).bytes(0))
CONTRACT("a directory as input gives EINVAL once count is positive", "directories have no splice_read",
         Spec().input(In::Directory).output(Out::DevNull).bytes(1))
CONTRACT("a directory as input into a pipe gives EINVAL", "the pipe path also needs splice_read",
         Spec().input(In::Directory).output(Out::Pipe).bytes(100))
CONTRACT("a pipe as input with a NULL offset gives EINVAL", "pipes have no splice_read",
         Spec().input(In::Pipe).size(1000).output(Out::DevNull).bytes(100))
CONTRACT("a pipe as input into a pipe gives EINVAL", "pipes have no splice_read",
         Spec().input(In::Pipe).size(1000).output(Out::Pipe).bytes(100))
CONTRACT("a unix socket as input into a pipe moves the data", "sockets have splice_read and the pipe path takes it",
         Spec().input(In::UnixStream).size(3000).output(Out::Pipe).bytes(10000))
CONTRACT("a tcp socket as input into a pipe moves the data", "tcp_splice_read",
         Spec().input(In::Tcp).size(3000).output(Out::Pipe).nonblocking().bytes(2000))
CONTRACT("a unix socket as input into a file gives EINVAL", "the direct path refuses non-regular inputs",
         Spec().input(In::UnixStream).size(3000).output_file(Access::WriteOnly).bytes(1000))
CONTRACT("a unix socket as input into a socket gives EINVAL", "the direct path refuses non-regular inputs",
         Spec().input(In::UnixStream).size(3000).output(Out::UnixStream).bytes(1000))
CONTRACT("an eventfd as input gives EINVAL", "eventfd has no splice_read",
         Spec().input(In::Eventfd).output(Out::DevNull).bytes(8))
CONTRACT("an eventfd as input into a pipe gives EINVAL", "eventfd has no splice_read",
         Spec().input(In::Eventfd).output(Out::Pipe).bytes(8))
CONTRACT("an eventfd as output gives EINVAL", "eventfd has no splice_write",
         file(100).output(Out::Eventfd).bytes(8))
CONTRACT("an eventfd as output with count 0 gives the kernel's answer", "count 0 on an output without splice_write",
         file(100).output(Out::Eventfd).bytes(0))
CONTRACT("/dev/zero as input fills a file with zeros", "/dev/zero has splice_read",
         Spec().input(In::DevZero).output_file(Access::WriteOnly).bytes(100000))
CONTRACT("/dev/zero as input with an offset fills a pipe", "/dev/zero is seekable",
         Spec().input(In::DevZero).output(Out::Pipe).nonblocking().at(12345).bytes(100000))
CONTRACT("/dev/zero as input with a NULL offset fills a pipe", "the position of /dev/zero",
         Spec().input(In::DevZero).position(999).output(Out::Pipe).nonblocking().bytes(100000))
CONTRACT("/dev/zero as input into a unix socket sends count zeros", "/dev/zero never ends",
         Spec().input(In::DevZero).output(Out::UnixStream).at(5).bytes(300000))
CONTRACT("/dev/null as output takes everything and returns the count", "/dev/null swallows",
         file(70000).output(Out::DevNull).at(3).bytes(100000))
CONTRACT("/proc/version as input moves its text", "proc files with read_iter have splice_read",
         Spec().input_path("/proc/version").output(Out::UnixStream).bytes(4096))
CONTRACT("/proc/version as input with an offset moves the rest of its text", "seekable seq_file",
         Spec().input_path("/proc/version").output(Out::Pipe).at(7).bytes(4096))
CONTRACT("/proc/self/status as input gives EINVAL", "proc files without splice_read",
         Spec().input_path("/proc/self/status").output(Out::DevNull).bytes(4096))
CONTRACT("/proc/self/status as input into a pipe gives EINVAL", "proc files without splice_read",
         Spec().input_path("/proc/self/status").output(Out::Pipe).bytes(4096))
CONTRACT("/proc/self/mountinfo as input moves its text", "mountinfo has splice_read",
         Spec().input_path("/proc/self/mountinfo").output(Out::UnixStream).bytes(1 << 20))
CONTRACT("a sysfs file as input moves its text", "kernfs has splice_read",
         Spec().input_path(sysfs_file()).output(Out::UnixStream).bytes(4096))

#undef CONTRACT_HALF
#define CONTRACT_HALF "[contract-b]"

// count == 0: every check, then 0.
CONTRACT("count 0 into a file gives 0 and moves nothing", "count 0 returns after the checks",
         file(1000).position(5).output_file(Access::WriteOnly).output_prefill(50, 20).bytes(0))
CONTRACT("count 0 into an O_RDWR file gives 0", "count 0 returns after the checks",
         file(1000).output_file(Access::ReadWrite).bytes(0))
CONTRACT("count 0 into a tcp socket gives 0", "count 0 returns after the checks",
         file(1000).output(Out::Tcp).bytes(0))
CONTRACT("count 0 into a unix stream socket gives 0", "count 0 returns after the checks",
         file(1000).output(Out::UnixStream).bytes(0))
CONTRACT("count 0 into a unix datagram socket sends no datagram", "count 0 returns after the checks",
         file(1000).output(Out::UnixDgram).bytes(0))
CONTRACT("count 0 into a pipe gives 0", "count 0 returns after the checks",
         file(1000).output(Out::Pipe).bytes(0))
CONTRACT("count 0 into a full non-blocking pipe gives the kernel's answer", "does the pipe path wait for room before looking at count",
         file(1000).output(Out::Pipe).nonblocking().pipe(0, -1).bytes(0))
CONTRACT("count 0 into /dev/null gives 0", "count 0 returns after the checks",
         file(1000).output(Out::DevNull).bytes(0))
CONTRACT("count 0 with an offset leaves the offset alone", "nothing moved",
         file(1000).output(Out::Pipe).at(500).bytes(0))
CONTRACT("count 0 with an offset past EOF gives 0", "nothing to send, nothing refused",
         file(1000).output(Out::UnixStream).at(5000).bytes(0))

// Offsets and positions.
CONTRACT("a NULL offset reads from the file position and advances it", "offset NULL uses f_pos",
         file(10000).position(1234).output(Out::UnixStream).bytes(5000))
CONTRACT("a given offset is advanced and the file position left alone", "offset given: pread semantics",
         file(10000).position(1234).output(Out::UnixStream).at(4321).bytes(5000))
CONTRACT("an offset at EOF gives 0", "nothing left to read",
         file(10000).output(Out::UnixStream).at(10000).bytes(5000))
CONTRACT("an offset past EOF gives 0", "nothing left to read",
         file(10000).output(Out::UnixStream).at(20000).bytes(5000))
CONTRACT("a NULL offset with the position past EOF gives 0", "nothing left to read",
         file(10000).position(50000).output(Out::UnixStream).bytes(5000))
CONTRACT("a count past EOF gives a short count", "EOF ends the transfer",
         file(10000).output(Out::UnixStream).at(9000).bytes(5000))
CONTRACT("an empty file gives 0", "EOF at once",
         file(0).output(Out::Tcp).bytes(5000))
CONTRACT("in_fd may be out_fd on an O_RDWR file", "nothing forbids it; ranges do not overlap here",
         file(8192).input(In::SameAsOut).output_file(Access::ReadWrite).output_prefill(0, 8192).at(0).bytes(4096))
CONTRACT("in_fd may be out_fd with a NULL offset", "the shared position is read then written",
         file(8192).input(In::SameAsOut).output_file(Access::ReadWrite).output_prefill(0, 100).bytes(1000))
// A file sent into itself, the output overlapping the bytes still to be read.
// The kernel's internal pipe holds references to the page cache, not copies,
// and the write copies forward from it: every byte read is the file's byte at
// that moment, so bytes read past the output position are the ones this very
// call wrote there (a forward memmove; bytes repeat with the period of the
// distance). The read/write engine must match it at every size and mode.
CONTRACT("a file sent into itself with the output 787 bytes into the read region repeats its first 787 bytes",
         "the kernel's pipe references the page cache: reads see the call's own writes (a 5000-byte file, count 4 MiB)",
         self(5000, 787).at(0).bytes(4194304))
CONTRACT("a file sent into itself with the output inside the read region, below one pipe chunk",
         "5000 bytes, distance 787: the bytes past the output position are the call's own",
         self(5000, 787).at(0).bytes(5000))
CONTRACT("a file sent into itself with the output one byte ahead of the input repeats one byte",
         "distance 1, unaligned offset: each byte read is the one just written",
         self(20000, 4097).at(4096).bytes(20000))
CONTRACT("a file sent into itself with the output 5000 bytes ahead, above one pipe chunk",
         "300000 bytes from an unaligned offset, distance 5000: shorter than a pipe chunk and a buffer",
         self(300000, 5013).at(13).bytes(300000))
CONTRACT("a file sent into itself with the output between one pipe chunk and one buffer ahead",
         "distance 69998: longer than the kernel's 64 KiB pipe chunk, shorter than the 128 KiB read/write buffer",
         self(300000, 70001).at(3).bytes(300000))
CONTRACT("a file sent into itself with the output past its end overlaps what it writes",
         "the output at 9000 of a 5000-byte file: the hole is read as zeros, then the call's own bytes",
         self(5000, 9000).at(0).bytes(20000))
CONTRACT("a file sent into itself with the output before the read region copies the original bytes",
         "the output 69900 bytes behind the input: each byte is read before it is overwritten",
         self(300000, 100).at(70000).bytes(200000))
CONTRACT("a file sent into itself with the output after the read region copies the original bytes",
         "the output past offset + count: nothing read is overwritten",
         self(300000, 200000).at(1000).bytes(150000))
CONTRACT("a file sent into itself with the output at the input offset leaves its bytes",
         "distance 0: every byte is written where it was read",
         self(100000, 4321).at(4321).bytes(100000))
CONTRACT("a file sent into itself on tmpfs with the output inside the read region",
         "shmem's pipe buffers reference its pages too",
         self(5000, 787, Fs::Tmpfs).at(0).bytes(100000))
CONTRACT("a file sent into itself on tmpfs through a hole, the output inside the read region",
         "shmem's splice read hands a hole on as the zero page: the call's own writes into the hole are not read back",
         self(45056, 1000, Fs::Tmpfs).with_hole().at(0).bytes(45056))
CONTRACT("a file sent into itself on tmpfs through a hole, past one pipe chunk and its end",
         "each 64 KiB chunk sees the holes as they were when it was read; the file grows through its own writes",
         self(200000, 70013, Fs::Tmpfs).with_hole().at(13).bytes(400000))
CONTRACT("a file sent into itself on tmpfs with the output one byte behind, past one pipe chunk",
         "the output behind the input: each byte is read before it is overwritten; mmap-writev from a window of "
         "the file whose pages fault in during the write ended otherwise (found by the fuzz runner)",
         self(67539, 0, Fs::Tmpfs).at(1).bytes(445528))
CONTRACT("a file sent into itself on ext4 through a hole, the output inside the read region",
         "ext4's holes are read into page-cache pages: the call's own writes are read back",
         self(45056, 1000).with_hole().at(0).bytes(45056))
CONTRACT("a file sent into itself above the mmap cut-over with the output inside the read region",
         "2 MiB from an unaligned offset, distance 100000: emulate takes mmap-writev, rw its buffer",
         self(3 << 20, 100007).at(7).bytes(2 << 20))
CONTRACT("a file sent into itself through a second descriptor with the output inside the read region",
         "one file, two descriptors: the same page cache, the same bytes",
         same_file(100000, 787).at(0).bytes(100000))
CONTRACT("a file sent into itself through a second descriptor with NULL offset uses both positions",
         "input at its own position 1000, output at 5000: distance 4000",
         same_file(200000, 5000).position(1000).bytes(200000))
CONTRACT("a file sent into itself through a second descriptor with the output before the read region",
         "the output at 10, the input at its position 30000",
         same_file(200000, 10).position(30000).bytes(150000))
CONTRACT("the output file position advances by the count", "the output's f_pos is used and advanced",
         file(5000).output_file(Access::WriteOnly).output_prefill(3000, 1000).at(7).bytes(4000))
CONTRACT("a non-blocking input is read as if blocking", "O_NONBLOCK on in_fd is ignored",
         file(10000).input_nonblocking().output(Out::UnixStream).bytes(10000))
CONTRACT("a memfd input works like a file", "shmem has splice_read",
         Spec().input(In::Memfd).size(300000).output(Out::Tcp).at(4097).bytes(200000))

// Pipes as output: one fill, page by page.
CONTRACT("an unaligned offset into an empty pipe fills it page by page", "the first page holds 4096 - 100 bytes: 65436 in all",
         file(256 * 1024).output(Out::Pipe).nonblocking().at(100).bytes(128 * 1024))
CONTRACT("an unaligned offset into an empty blocking pipe fills it once", "one fill, no waiting for the reader",
         file(256 * 1024).output(Out::Pipe).at(100).bytes(128 * 1024))
CONTRACT("a partly full pipe takes only its free slots", "page-granular room",
         file(256 * 1024).output(Out::Pipe).nonblocking().pipe(0, 1000).at(0).bytes(128 * 1024))
CONTRACT("a partly full blocking pipe takes only its free slots", "one fill, no waiting",
         file(256 * 1024).output(Out::Pipe).pipe(0, 5000).at(3).bytes(128 * 1024))
CONTRACT("a full blocking pipe waits for the reader and then fills once", "one fill after room appears",
         file(300000).output(Out::Pipe).pipe(0, -1).reader_later().at(10).bytes(200000))
CONTRACT("count 0 into a full blocking pipe waits for room", "the pipe path waits for room before it looks at count",
         file(1000).output(Out::Pipe).pipe(0, -1).reader_later().bytes(0))
CONTRACT("a directory as input into a full blocking pipe waits for room and then gives EINVAL", "room first, then splice_read",
         Spec().input(In::Directory).output(Out::Pipe).pipe(0, -1).reader_later().bytes(100))
CONTRACT("a unix socket as input into a pipe with one free slot moves bytes in order, none lost", "the kernel moves whole socket buffers, the shim what the room takes: counts may differ",
         Spec().input(In::UnixStream).size(10000).output(Out::Pipe).nonblocking().pipe(8192, 100).bytes(10000))
CONTRACT("a full non-blocking pipe gives EAGAIN", "no room, no waiting",
         file(10000).output(Out::Pipe).nonblocking().pipe(0, -1).bytes(100))
CONTRACT("a full non-blocking pipe gives EAGAIN even with a directory as input", "the pipe waits for room before splice_read is looked at",
         Spec().input(In::Directory).output(Out::Pipe).nonblocking().pipe(0, -1).bytes(100))
CONTRACT("a full non-blocking pipe with an eventfd as input gives the kernel's answer", "room is looked at before the input",
         Spec().input(In::Eventfd).output(Out::Pipe).nonblocking().pipe(0, -1).bytes(8))
CONTRACT("a pipe shrunk to one page takes one page", "F_SETPIPE_SZ 4096",
         file(100000).output(Out::Pipe).nonblocking().pipe(4096, 0).at(10).bytes(50000))
CONTRACT("a pipe grown to 1 MiB takes up to 1 MiB", "F_SETPIPE_SZ 1 MiB",
         file(3 << 20).output(Out::Pipe).nonblocking().pipe(1 << 20, 0).at(4096).bytes(2 << 20))
CONTRACT("a small count into a pipe moves exactly count bytes", "count smaller than the room",
         file(100000).output(Out::Pipe).at(4000).bytes(300))
CONTRACT("a pipe with no reader gives EPIPE and raises SIGPIPE", "like write(2) to a widowed pipe",
         file(10000).output(Out::Pipe).without_reader().bytes(100))
CONTRACT("a pipe with no reader and count 0 gives the kernel's answer", "is the reader looked at with count 0",
         file(10000).output(Out::Pipe).without_reader().bytes(0))
CONTRACT("a unix stream socket with a closed peer gives EPIPE and raises SIGPIPE", "like send(2) without MSG_NOSIGNAL",
         file(10000).output(Out::UnixStream).without_reader().bytes(100))
CONTRACT("a unix datagram socket with a closed peer gives the kernel's errno", "a datagram socket without its peer",
         file(10000).output(Out::UnixDgram).without_reader().bytes(100))

// Sockets.
CONTRACT("a unix datagram output from an unaligned offset sends 65436 then the rest", "one datagram per pipe fill",
         file(200000).output(Out::UnixDgram).at(100).bytes(100000))
CONTRACT("a unix datagram output from an aligned offset sends the kernel's datagram sizes", "one datagram per pipe fill",
         file(300000).output(Out::UnixDgram).at(0).bytes(300000))
CONTRACT("a blocking tcp socket receives every byte", "blocking sockets loop until count",
         file(3 << 20).output(Out::Tcp).at(1).bytes(3 << 20))
CONTRACT("a blocking tcp socket with small buffers still receives every byte", "blocking sockets wait for room",
         file(1 << 20).output(Out::Tcp).small_bufs().at(77).bytes(1 << 20))
CONTRACT("a non-blocking tcp socket with small buffers gives a partial count then EAGAIN", "no waiting for room",
         file(4 << 20).output(Out::Tcp).nonblocking().small_bufs().at(5).bytes(4 << 20))
CONTRACT("a non-blocking unix socket with small buffers gives a partial count then EAGAIN", "no waiting for room",
         file(4 << 20).output(Out::UnixStream).nonblocking().small_bufs().bytes(4 << 20))
CONTRACT("a non-blocking unix datagram socket without a reader stops at the queue limit", "datagrams queue up to the receiver's limit",
         file(4 << 20).output(Out::UnixDgram).nonblocking().at(0).bytes(4 << 20))

// The offset pointer itself.
CONTRACT("an unreadable offset pointer gives EFAULT", "copy_from_user fails first",
         file(1000).output(Out::UnixStream).offset_in(OffsetPtr::Unreadable, 0).bytes(100))
CONTRACT("an unreadable offset pointer gives EFAULT before even EBADF", "the offset is copied in before fdget",
         Spec().input(In::Closed).output(Out::Closed).offset_in(OffsetPtr::Unreadable, 0).bytes(100))
CONTRACT("a read-only offset pointer moves the bytes and then gives EFAULT", "put_user fails after the transfer",
         file(1000).output(Out::UnixStream).offset_in(OffsetPtr::ReadOnly, 10).bytes(100))
CONTRACT("a read-only offset pointer turns EBADF into EFAULT", "put_user runs whatever the result",
         Spec().input(In::Closed).output(Out::DevNull).offset_in(OffsetPtr::ReadOnly, 0).bytes(100))
CONTRACT("a read-only offset pointer turns EINVAL into EFAULT", "put_user runs whatever the result",
         file(1000).output(Out::DevNull).offset_in(OffsetPtr::ReadOnly, -5).bytes(100))
CONTRACT("a read-only offset pointer into a file moves the bytes and then gives EFAULT", "put_user fails after the transfer",
         file(1000).output_file(Access::WriteOnly).offset_in(OffsetPtr::ReadOnly, 10).bytes(100))
CONTRACT("an unreadable offset pointer gives EFAULT even with count 0", "copy_from_user comes first",
         file(1000).output(Out::DevNull).offset_in(OffsetPtr::Unreadable, 0).bytes(0))
CONTRACT("a read-only offset pointer into a pipe moves the bytes and then gives EFAULT", "put_user fails after the fill",
         file(100000).output(Out::Pipe).offset_in(OffsetPtr::ReadOnly, 100).bytes(100000))
CONTRACT("a read-only offset pointer with count 0 gives EFAULT", "put_user runs even when nothing moved",
         file(1000).output(Out::DevNull).offset_in(OffsetPtr::ReadOnly, 0).bytes(0))
CONTRACT("a readable and writable offset pointer is updated", "the ordinary case",
         file(1000).output(Out::UnixStream).offset_in(OffsetPtr::Given, 10).bytes(100))
