// Each output kind, fed from each kind of regular input, at sizes around page
// and pipe boundaries, with the offset NULL and given.
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "differential.h"

using namespace sfdiff;

namespace {

struct Source {
    In in;
    Fs fs;
};

const Source kSources[] = {{In::File, Fs::Ext4}, {In::File, Fs::Tmpfs}, {In::Memfd, Fs::Ext4}};

// (size, offset or -1 for NULL, position, count)
struct Shape {
    uint64_t size;
    int64_t offset;
    int64_t position;
    uint64_t count;
};

const std::vector<Shape> kShapes = {
    {0, -1, 0, 100},
    {1, 0, 0, 1},
    {4095, -1, 1, 10000},
    {4096, 0, 0, 4096},
    {4097, 4095, 0, 2},
    {65536 + 17, -1, 4096, 65536 + 17},
    {65536 + 17, 100, 7, 65536},
    {(1 << 20) + 3, 1, 0, 1 << 20},
    {(1 << 20) + 3, -1, 12345, 1 << 21},
};

// Past the count from which auto and emulate send into a Unix stream socket
// with mmap-writev (SFSHIM_TUNE's mmap_min_unix, 4 MiB): just at it, and
// beyond it from a position inside a page.
const std::vector<Shape> kPastUnixCutover = {
    {(4 << 20) + 5, 3, 0, 4 << 20},
    {(6 << 20) + 100, -1, 4097, 6 << 20},
};

// Across the mmap engine's windows (Tuning::mmap_window, 4 MiB: a file the
// cache does not keep, as every file here is unlinked once open, is mapped a
// window at a time, without prefaulting): from three bytes before the first
// window's end into the third, and from a position inside a page across two
// whole windows.
const std::vector<Shape> kAcrossWindows = {
    {(9 << 20) + 5, (4 << 20) - 3, 0, (5 << 20) + 1},
    {(8 << 20) + 100, -1, 4097, 8 << 20},
};

void every_source_and_shape(const Spec &base, const std::vector<Shape> &shapes = kShapes)
{
    for (const Source &src : kSources) {
        for (const Shape &sh : shapes) {
            Spec s = base;
            s.input(src.in).on(src.fs).size(sh.size).position(sh.position).bytes(sh.count);
            if (sh.offset >= 0)
                s.at(sh.offset);
            s.seeded(sh.size * 31 + static_cast<uint64_t>(sh.offset + 2));
            check_against_kernel(s);
        }
    }
}

} // namespace

TEST_CASE("unix stream sockets past the mmap cut-over receive what the kernel sends", "[outputs]")
{
    every_source_and_shape(Spec().output(Out::UnixStream), kPastUnixCutover);
    every_source_and_shape(Spec().output(Out::UnixStream).nonblocking().small_bufs(), kPastUnixCutover);
}

TEST_CASE("calls across the mmap engine's windows send what the kernel sends", "[outputs]")
{
    every_source_and_shape(Spec().output(Out::Tcp), kAcrossWindows);
    every_source_and_shape(Spec().output_file(Access::WriteOnly, Fs::Ext4).output_prefill(100, 7), kAcrossWindows);
}

TEST_CASE("a blocking tcp socket receives what the kernel sends", "[outputs]")
{
    every_source_and_shape(Spec().output(Out::Tcp));
}

TEST_CASE("a blocking unix stream socket receives what the kernel sends", "[outputs]")
{
    every_source_and_shape(Spec().output(Out::UnixStream));
}

TEST_CASE("a blocking unix datagram socket receives the kernel's datagrams", "[outputs]")
{
    every_source_and_shape(Spec().output(Out::UnixDgram));
}

TEST_CASE("a non-blocking pipe takes what the kernel puts in it", "[outputs]")
{
    every_source_and_shape(Spec().output(Out::Pipe).nonblocking());
}

TEST_CASE("a blocking pipe with room takes what the kernel puts in it", "[outputs]")
{
    every_source_and_shape(Spec().output(Out::Pipe).pipe(1 << 20, 3000));
}

TEST_CASE("an O_WRONLY ext4 file receives what the kernel writes", "[outputs]")
{
    every_source_and_shape(Spec().output_file(Access::WriteOnly, Fs::Ext4).output_prefill(5000, 17));
}

TEST_CASE("an O_RDWR tmpfs file receives what the kernel writes", "[outputs]")
{
    every_source_and_shape(Spec().output_file(Access::ReadWrite, Fs::Tmpfs).output_prefill(100, 100));
}

TEST_CASE("/dev/null takes what the kernel sends", "[outputs]")
{
    every_source_and_shape(Spec().output(Out::DevNull));
}

TEST_CASE("a non-blocking tcp socket with small buffers agrees with the kernel on partial counts", "[outputs]")
{
    every_source_and_shape(Spec().output(Out::Tcp).nonblocking().small_bufs());
}

TEST_CASE("a non-blocking unix stream socket agrees with the kernel on partial counts", "[outputs]")
{
    every_source_and_shape(Spec().output(Out::UnixStream).nonblocking().small_bufs());
}
