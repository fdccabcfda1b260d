// What one run of a case leaves behind, and how two runs are compared.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fixture.h"

namespace sfdiff {

struct CallResult {
    int64_t ret = 0;
    int err = 0; // errno after the call, raw: 12345 (the sentinel) when untouched
};

constexpr int kErrnoSentinel = 12345;

struct Observation {
    std::string harness_error;     // set when the run itself broke (crash, timeout, setup)
    std::vector<CallResult> calls; // one call, or several for partial-count cases
    bool offset_readable = false;
    int64_t offset_after = 0;
    uint32_t offset_guard = 0; // 32-bit call: the word after the offset, afterwards
    int64_t in_pos = 0; // lseek(in_fd, 0, SEEK_CUR) afterwards, raw
    int in_pos_err = 0;
    int64_t out_pos = 0; // lseek(out_fd, 0, SEEK_CUR) afterwards, raw
    int out_pos_err = 0;
    std::string bytes;           // bytes that reached the reader, or the output file's contents
    std::vector<uint32_t> dgrams; // datagram sizes, in order, for datagram outputs
    bool sigpipe_pending = false;
    bool sigxfsz_pending = false;
    bool drain_timed_out = false;
    bool waited_for_reader = false; // late_reader: the call had not returned when the reader came

    std::string serialize() const;
    static bool deserialize(const std::string &s, Observation &out);
    std::string describe() const;
};

// Every way the shim's observation departs from the kernel's; empty when
// they agree. Messages name the field, both values, and the first
// differing byte.
std::vector<std::string> differences(const Spec &spec, const Observation &kernel,
                                     const Observation &shim);

std::string errno_name(int e);

} // namespace sfdiff
