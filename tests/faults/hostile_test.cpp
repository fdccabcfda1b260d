// Hostile input: descriptors of every kind in both positions, offsets near
// INT64_MAX, counts near SIZE_MAX, and offset pointers in every protection.
// Each table runs through the kernel and through every shim mode (one child
// per mode) and every observation must match: return value, errno (or its
// absence), *offset, both positions, the bytes that reached the output, and
// SIGPIPE. Nothing may crash.
// Not under ThreadSanitizer ([no-tsan]): one thread calls the shim, so it
// would check only the harness, and its thousands of mappings made and
// unmapped cost its shadow memory minutes; the main build, ASan+UBSan and
// memcheck run these tables.
#include <catch2/catch.hpp>

#include <climits>
#include <cstdint>

#include "cases.h"

using namespace sffault;

namespace {

void check_table(const std::vector<Case> &cases, const std::vector<Via> &vias)
{
    std::string error;
    std::vector<Obs> kernel = run_table(Via::Kernel, cases, error);
    REQUIRE(error == "");
    for (const Obs &o : kernel)
        REQUIRE(o.harness == "");
    for (Via via : vias) {
        std::vector<Obs> shim = run_table(via, cases, error);
        INFO(name(via));
        CHECK(error == "");
        std::string diff = compare_tables(cases, kernel, shim, name(via));
        INFO(name(via) << " vs the kernel: " << diff);
        CHECK(diff == "");
    }
}

const std::vector<Via> &hostile_vias()
{
    static const std::vector<Via> v = runnable({Via::Emulate, Via::Mmap, Via::Rw, Via::Auto, Via::AutoEnosys,
                                                Via::AutoCompat, Via::AutoLinuxulator});
    return v;
}

} // namespace

TEST_CASE("descriptors of every kind as input and output give the kernel's results in every mode",
          "[hostile][no-tsan]")
{
    std::vector<Case> cases;
    for (Kind in : all_kinds())
        for (Kind out : all_kinds())
            // Without an offset, with one, and count 0.
            cases.insert(cases.end(), {Case{in, out, Ptr::Null, 0, 10000}, Case{in, out, Ptr::Good, 100, 5000},
                                       Case{in, out, Ptr::Good, 0, 0}});
    check_table(cases, hostile_vias());
}

namespace {

// About 3,600 cases; through the kernel and one mode per test case, so that
// each is a CTest entry of its own that finishes well within its limit under
// memcheck and AddressSanitizer on a loaded machine. All modes in one entry
// did not finish in 240 s under ThreadSanitizer there.
std::vector<Case> extreme_cases()
{
    const std::vector<int64_t> offsets = {0,
                                          9999,
                                          10000,
                                          20000,
                                          -1,
                                          INT64_MIN,
                                          INT64_MAX,
                                          INT64_MAX - 1,
                                          INT64_MAX - 4096,
                                          int64_t{1} << 62,
                                          0x7fffffff,
                                          0x80000000,
                                          (int64_t{1} << 44) - 4096,
                                          (int64_t{1} << 44) - 4097,
                                          int64_t{0x7ffffffffffff000}};
    const std::vector<uint64_t> counts = {0,         1,         4096,       0x7ffff000, 0x7ffff001,
                                          SSIZE_MAX, uint64_t{SSIZE_MAX} + 1, SIZE_MAX, SIZE_MAX / 2,
                                          uint64_t{1} << 62, uint64_t{1} << 63};
    return offset_grid({Kind::File, Kind::Memfd, Kind::PipeRead},
                       {Kind::DevNull, Kind::File, Kind::UnixStream, Kind::PipeWrite}, offsets, counts);
}

} // namespace

TEST_CASE("offsets near INT64_MAX and counts near SIZE_MAX give the kernel's results: emulate", "[hostile][no-tsan]")
{
    check_table(extreme_cases(), {Via::Emulate});
}

TEST_CASE("offsets near INT64_MAX and counts near SIZE_MAX give the kernel's results: mmap", "[hostile][no-tsan]")
{
    check_table(extreme_cases(), {Via::Mmap});
}

TEST_CASE("offsets near INT64_MAX and counts near SIZE_MAX give the kernel's results: rw", "[hostile][no-tsan]")
{
    check_table(extreme_cases(), {Via::Rw});
}

TEST_CASE("offsets near INT64_MAX and counts near SIZE_MAX give the kernel's results: auto", "[hostile][no-tsan]")
{
    check_table(extreme_cases(), {Via::Auto});
}

TEST_CASE("offsets near INT64_MAX and counts near SIZE_MAX give the kernel's results: auto without sendfile",
          "[hostile][no-tsan]")
{
    check_table(extreme_cases(), {Via::AutoEnosys});
}

TEST_CASE("offsets near INT64_MAX and counts near SIZE_MAX give the kernel's results: auto in the compat profile",
          "[hostile][no-tsan]")
{
    check_table(extreme_cases(), {Via::AutoCompat});
}

TEST_CASE("offsets near INT64_MAX and counts near SIZE_MAX give the kernel's results: auto in the freebsd profile",
          "[hostile][no-tsan]")
{
    if (const char *why = unavailable(Via::AutoLinuxulator)) {
        WARN("not run: " << why);
        return;
    }
    check_table(extreme_cases(), {Via::AutoLinuxulator});
}

TEST_CASE("offset pointers in every protection give the kernel's EFAULT and effects in every mode",
          "[hostile][no-tsan]")
{
    const Ptr ptrs[] = {Ptr::ProtNone,   Ptr::ReadOnly,  Ptr::WriteOnly, Ptr::Unmapped,        Ptr::Straddle,
                        Ptr::Misaligned, Ptr::NullPlus8, Ptr::Good,      Ptr::StraddleReadOnly};
    const std::pair<Kind, Kind> pairs[] = {
        {Kind::File, Kind::DevNull},     {Kind::File, Kind::File},        {Kind::File, Kind::UnixStream},
        {Kind::File, Kind::PipeWrite},   {Kind::Closed, Kind::DevNull},   {Kind::File, Kind::Closed},
        {Kind::PipeRead, Kind::DevNull}, {Kind::Directory, Kind::DevNull}, {Kind::File, Kind::FileAppend},
        {Kind::Memfd, Kind::PipeWrite},
    };
    const uint64_t counts[] = {0, 100, 20000, SIZE_MAX};
    const int64_t offsets[] = {0, 5000, -1};
    std::vector<Case> cases;
    for (Ptr p : ptrs)
        for (auto io : pairs)
            for (uint64_t count : counts)
                for (int64_t off : offsets)
                    cases.push_back({io.first, io.second, p, off, count});
    check_table(cases, hostile_vias());
}
