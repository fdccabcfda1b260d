// Linux's 32-bit sendfile, as i386 programs call `sendfile` (off_t of 32
// bits): the offset is read and written as 32 bits, and a transfer with an
// offset stops at MAX_NON_LFS (2^31 - 1). Each row runs through the kernel's
// own syscall (i386 number 187) and through sfshim::dispatch_off32 in every
// mode. The sendfile64 side of i386 is the whole contract table: there the
// kernel oracle is SYS_sendfile64.
//
// A 64-bit process has no 32-bit sendfile to compare with (the kernel offers
// it only to 32-bit tasks), so on x86_64 these rows are not compiled and one
// test case says why.
#include <catch2/catch.hpp>
#include <cstdint>

#include "differential.h"

using namespace sfdiff;

#if INTPTR_MAX == INT32_MAX

namespace {

constexpr int64_t kMaxNonLfs = 0x7fffffff;                 // MAX_NON_LFS
constexpr int64_t kExt4Limit = (int64_t{1} << 44) - 4096;  // ext4 s_maxbytes with 4 KiB blocks

Spec file(uint64_t size, Fs fs = Fs::Ext4) { return Spec().input(In::File).on(fs).size(size).sendfile32(); }
// A sparse file reaching past 2 GiB: bytes near MAX_NON_LFS to read.
Spec sparse_past_2g(Fs fs = Fs::Ext4)
{
    return Spec().input(In::File).on(fs).sparse(uint64_t{3} << 30).sendfile32();
}

} // namespace

#define CONTRACT32(name, reason, spec)          \
    TEST_CASE("32-bit sendfile: " name, "[contract][sendfile32]") \
    {                                           \
        INFO("why: " << reason);                \
        check_against_kernel(spec);             \
    }

// The limit: MAX_NON_LFS for a transfer with an offset.
CONTRACT32("an offset of 2^31-1 with count 1 gives EOVERFLOW", "pos >= MAX_NON_LFS",
           sparse_past_2g().output(Out::UnixStream).at(kMaxNonLfs).bytes(1))
CONTRACT32("an offset of 2^31-1 with count 1 on a small file gives EOVERFLOW", "the limit is checked before EOF matters",
           file(100).output(Out::DevNull).at(kMaxNonLfs).bytes(1))
CONTRACT32("an offset of 2^31-1 with count 0 gives 0", "pos + 0 does not pass MAX_NON_LFS",
           sparse_past_2g().output(Out::UnixStream).at(kMaxNonLfs).bytes(0))
CONTRACT32("an offset of 2^31-2 with count 10 sends one byte", "a range that only ends past the limit is shortened",
           sparse_past_2g().output(Out::UnixStream).at(kMaxNonLfs - 1).bytes(10))
CONTRACT32("a range from 2^31-4096 ending past the limit is shortened to 4095 bytes", "count = MAX_NON_LFS - pos",
           sparse_past_2g(Fs::Tmpfs).output(Out::UnixStream).at(kMaxNonLfs - 4095).bytes(100000))
CONTRACT32("a range ending past the limit into a pipe is shortened", "the pipe path has the same limit",
           sparse_past_2g().output(Out::Pipe).nonblocking().at(kMaxNonLfs - 100).bytes(5000))
CONTRACT32("a range ending past the limit into a file is shortened", "the file path has the same limit",
           sparse_past_2g().output_file(Access::WriteOnly).at(kMaxNonLfs - 300).bytes(5000))
CONTRACT32("an offset of 2^31-1 into a pipe gives EOVERFLOW", "pos >= MAX_NON_LFS on the pipe path too",
           sparse_past_2g().output(Out::Pipe).nonblocking().at(kMaxNonLfs).bytes(1))
CONTRACT32("an offset of 2^31-1 with a closed out_fd gives EBADF", "out_fd is checked before the limit",
           sparse_past_2g().output(Out::Closed).at(kMaxNonLfs).bytes(1))
CONTRACT32("/dev/zero near the limit sends up to it", "MAX_NON_LFS applies to devices too",
           Spec().input(In::DevZero).sendfile32().output(Out::DevNull).at(kMaxNonLfs - 65535).bytes(128 * 1024))
CONTRACT32("a count of 4 GiB - 1 near the limit is clamped, then shortened", "MAX_RW_COUNT first, then MAX_NON_LFS - pos",
           Spec().input(In::DevZero).sendfile32().output(Out::DevNull).at(kMaxNonLfs - 70000).bytes(0xffffffffu))
CONTRACT32("an offset of 2^31-1 with a count of 4 GiB - 1 gives EOVERFLOW", "pos >= MAX_NON_LFS whatever the count",
           file(100).output(Out::DevNull).at(kMaxNonLfs).bytes(0xffffffffu))

// Negative 32-bit offsets.
CONTRACT32("an offset of -1 gives EINVAL", "sign-extended to a negative loff_t",
           file(1000).output(Out::DevNull).at(-1).bytes(10))
CONTRACT32("an offset of INT32_MIN gives EINVAL", "sign-extended, not read as 2^31",
           file(1000).output(Out::UnixStream).at(INT32_MIN).bytes(10))
CONTRACT32("a negative offset with count 0 gives EINVAL", "the position is checked whatever the count",
           file(1000).output(Out::DevNull).at(-4096).bytes(0))
CONTRACT32("a negative offset with a closed in_fd gives EBADF", "in_fd is checked first",
           Spec().input(In::Closed).sendfile32().output(Out::DevNull).at(-1).bytes(10))

// The offset, read and written as 32 bits (the word after it is a guard).
CONTRACT32("a given offset is advanced as 32 bits and the file position left alone", "put_user into a compat_off_t",
           file(10000).position(1234).output(Out::UnixStream).at(4321).bytes(5000))
CONTRACT32("an offset advanced up to 2^31-1 is written back whole", "the largest value a 32-bit offset holds",
           sparse_past_2g().output(Out::UnixStream).at(kMaxNonLfs - 4096).bytes(4096))
CONTRACT32("an offset at EOF gives 0 and stays", "nothing left to read",
           file(10000).output(Out::UnixStream).at(10000).bytes(5000))
CONTRACT32("an unreadable 32-bit offset gives EFAULT", "get_user fails first",
           file(1000).output(Out::UnixStream).offset_in(OffsetPtr::Unreadable, 0).bytes(100))
CONTRACT32("a read-only 32-bit offset moves the bytes and then gives EFAULT", "put_user fails after the transfer",
           file(1000).output(Out::UnixStream).offset_in(OffsetPtr::ReadOnly, 10).bytes(100))
CONTRACT32("a read-only 32-bit offset turns EOVERFLOW into EFAULT", "put_user runs whatever the result",
           file(1000).output(Out::DevNull).offset_in(OffsetPtr::ReadOnly, kMaxNonLfs).bytes(1))
CONTRACT32("a 32-bit offset into a pipe fills it once from an unaligned offset", "the pipe path, 32-bit offset",
           file(256 * 1024).output(Out::Pipe).nonblocking().at(100).bytes(128 * 1024))
CONTRACT32("a 32-bit offset into a unix datagram socket sends the kernel's datagrams", "the datagram path, 32-bit offset",
           file(200000).output(Out::UnixDgram).at(100).bytes(100000))

// No offset: the 32-bit call is sendfile64 (no MAX_NON_LFS, the file
// systems' limits).
CONTRACT32("a NULL offset reads from a file position past 2 GiB", "no MAX_NON_LFS without an offset",
           sparse_past_2g().position((int64_t{1} << 31) + 5).output(Out::UnixStream).bytes(100000))
CONTRACT32("a NULL offset reads across 2^31-1", "no MAX_NON_LFS without an offset",
           sparse_past_2g().position(kMaxNonLfs - 100).output(Out::UnixStream).bytes(5000))
CONTRACT32("a NULL offset with the position at ext4's limit gives EOVERFLOW", "the file systems' limit, as sendfile64",
           file(100).position(kExt4Limit).output(Out::DevNull).bytes(1))
CONTRACT32("a NULL offset advances the file position", "offset NULL uses f_pos",
           file(10000).position(1234).output(Out::UnixStream).bytes(5000))
CONTRACT32("a NULL offset with a count of 4 GiB - 1 sends the file", "clamped, and no MAX_NON_LFS",
           file(10000).output(Out::UnixStream).bytes(0xffffffffu))

// No rows in a 64-bit process: the 32-bit sendfile (compat_off_t offset,
// MAX_NON_LFS) exists only for 32-bit ones, and the i386 build
// (toolchain/i386.sh) runs them.
#endif
