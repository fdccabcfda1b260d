#include "observation.h"

#include <cerrno>
#include <cstring>
#include <sstream>

namespace sfdiff {

namespace {

struct Writer {
    std::string out;
    template <typename T> void put(const T &v) { out.append(reinterpret_cast<const char *>(&v), sizeof v); }
    void put_str(const std::string &s)
    {
        put<uint64_t>(s.size());
        out += s;
    }
};

struct Reader {
    const std::string &in;
    size_t pos = 0;
    bool ok = true;
    template <typename T> T get()
    {
        T v{};
        if (pos + sizeof v > in.size()) {
            ok = false;
            return v;
        }
        std::memcpy(&v, in.data() + pos, sizeof v);
        pos += sizeof v;
        return v;
    }
    std::string get_str()
    {
        uint64_t n = get<uint64_t>();
        if (!ok || pos + n > in.size()) {
            ok = false;
            return {};
        }
        std::string s = in.substr(pos, n);
        pos += n;
        return s;
    }
};

constexpr uint32_t kMagic = 0x5f5d1ff0;

uint64_t fnv1a(const std::string &s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : s)
        h = (h ^ c) * 0x100000001b3ull;
    return h;
}

std::string show_dgrams(const std::vector<uint32_t> &d)
{
    std::ostringstream o;
    o << "[";
    for (size_t i = 0; i < d.size(); ++i) {
        if (i == 12) {
            o << ", ... (" << d.size() << " in all)";
            break;
        }
        o << (i ? ", " : "") << d[i];
    }
    o << "]";
    return o.str();
}

std::string show_ret(const CallResult &c)
{
    std::ostringstream o;
    o << c.ret;
    if (c.ret < 0)
        o << " errno " << errno_name(c.err);
    else if (c.err != kErrnoSentinel)
        o << " (errno changed on success to " << errno_name(c.err) << ")";
    return o.str();
}

std::string show_pos(int64_t pos, int err)
{
    return pos < 0 ? std::to_string(pos) + " (" + errno_name(err) + ")" : std::to_string(pos);
}

} // namespace

std::string errno_name(int e)
{
    if (e == kErrnoSentinel)
        return "untouched";
    const char *n = strerrorname_np(e);
    return (n ? std::string(n) : std::string("errno")) + "(" + std::to_string(e) + ")";
}

std::string Observation::serialize() const
{
    Writer w;
    w.put(kMagic);
    w.put_str(harness_error);
    w.put<uint64_t>(calls.size());
    for (const CallResult &c : calls) {
        w.put(c.ret);
        w.put(c.err);
    }
    w.put(offset_readable);
    w.put(offset_after);
    w.put(offset_guard);
    w.put(in_pos);
    w.put(in_pos_err);
    w.put(out_pos);
    w.put(out_pos_err);
    w.put_str(bytes);
    w.put<uint64_t>(dgrams.size());
    for (uint32_t d : dgrams)
        w.put(d);
    w.put(sigpipe_pending);
    w.put(sigxfsz_pending);
    w.put(drain_timed_out);
    w.put(waited_for_reader);
    w.put(kMagic);
    return w.out;
}

bool Observation::deserialize(const std::string &s, Observation &o)
{
    Reader r{s};
    if (r.get<uint32_t>() != kMagic)
        return false;
    o.harness_error = r.get_str();
    uint64_t n = r.get<uint64_t>();
    for (uint64_t i = 0; r.ok && i < n; ++i) {
        CallResult c;
        c.ret = r.get<int64_t>();
        c.err = r.get<int>();
        o.calls.push_back(c);
    }
    o.offset_readable = r.get<bool>();
    o.offset_after = r.get<int64_t>();
    o.offset_guard = r.get<uint32_t>();
    o.in_pos = r.get<int64_t>();
    o.in_pos_err = r.get<int>();
    o.out_pos = r.get<int64_t>();
    o.out_pos_err = r.get<int>();
    o.bytes = r.get_str();
    n = r.get<uint64_t>();
    for (uint64_t i = 0; r.ok && i < n; ++i)
        o.dgrams.push_back(r.get<uint32_t>());
    o.sigpipe_pending = r.get<bool>();
    o.sigxfsz_pending = r.get<bool>();
    o.drain_timed_out = r.get<bool>();
    o.waited_for_reader = r.get<bool>();
    return r.get<uint32_t>() == kMagic && r.ok && r.pos == s.size();
}

std::string Observation::describe() const
{
    std::ostringstream o;
    if (!harness_error.empty())
        o << "HARNESS: " << harness_error << "; ";
    o << "returned";
    for (const CallResult &c : calls)
        o << " " << show_ret(c);
    if (offset_readable)
        o << ", offset " << offset_after;
    o << ", in pos " << show_pos(in_pos, in_pos_err) << ", out pos " << show_pos(out_pos, out_pos_err);
    o << ", " << bytes.size() << " bytes (fnv " << std::hex << fnv1a(bytes) << std::dec << ")";
    if (!dgrams.empty())
        o << ", datagrams " << show_dgrams(dgrams);
    if (sigpipe_pending)
        o << ", SIGPIPE pending";
    if (sigxfsz_pending)
        o << ", SIGXFSZ pending";
    if (drain_timed_out)
        o << ", reader timed out";
    if (waited_for_reader)
        o << ", waited for the reader";
    return o.str();
}

static std::string first_byte_difference(const std::string &a, const std::string &b)
{
    size_t n = a.size() < b.size() ? a.size() : b.size();
    size_t i = 0;
    while (i < n && a[i] == b[i])
        ++i;
    std::ostringstream o;
    o << "kernel " << a.size() << " bytes, shim " << b.size() << " bytes; ";
    if (i == n)
        o << "one is a prefix of the other (common length " << n << ")";
    else
        o << "first difference at byte " << i << " (kernel 0x" << std::hex
          << (static_cast<unsigned>(static_cast<unsigned char>(a[i]))) << ", shim 0x"
          << (static_cast<unsigned>(static_cast<unsigned char>(b[i]))) << ")";
    return o.str();
}

static int64_t positive_sum(const Observation &o)
{
    int64_t sum = 0;
    for (const CallResult &c : o.calls)
        if (c.ret > 0)
            sum += c.ret;
    return sum;
}

// The 32-bit call stores 32 bits: the word after the offset stays as it was,
// for the kernel and for the shim.
static void guard_differences(const Spec &spec, const Observation &k, const Observation &s,
                              std::vector<std::string> &d)
{
    if (!spec.call32 || (spec.offset_ptr != OffsetPtr::Given && spec.offset_ptr != OffsetPtr::ReadOnly))
        return;
    const Observation *both[2] = {&k, &s};
    const char *who[2] = {"kernel", "shim"};
    for (int i = 0; i < 2; ++i)
        if (both[i]->offset_guard != kOffsetGuard) {
            std::ostringstream o;
            o << who[i] << ": the 4 bytes after the 32-bit offset changed to 0x" << std::hex
              << both[i]->offset_guard << " (a store wider than 32 bits)";
            d.push_back(o.str());
        }
}

// For non-blocking stream sockets without a reader: every observation must
// be self-consistent, and the kernel and the shim must agree on the shape.
static void partial_differences(const Spec &spec, const Observation &k, const Observation &s,
                                std::vector<std::string> &d)
{
    const Observation *both[2] = {&k, &s};
    const char *who[2] = {"kernel", "shim"};
    // Bytes that were in the output before the call (a prefilled pipe): the
    // same in both fixtures, and the rest is exactly what the calls returned.
    int64_t before = static_cast<int64_t>(k.bytes.size()) - positive_sum(k);
    if (spec.out != Out::Pipe && before != 0)
        before = 0;
    for (int i = 0; i < 2; ++i) {
        const Observation &o = *both[i];
        int64_t sum = positive_sum(o);
        if (static_cast<int64_t>(o.bytes.size()) != before + sum)
            d.push_back(std::string(who[i]) + ": returned " + std::to_string(sum) +
                        " bytes in all but " + std::to_string(static_cast<int64_t>(o.bytes.size()) - before) +
                        " arrived");
        if (spec.offset_ptr == OffsetPtr::Given && o.offset_after != spec.offset + sum)
            d.push_back(std::string(who[i]) + ": offset advanced to " + std::to_string(o.offset_after) +
                        ", expected " + std::to_string(spec.offset + sum));
        if (spec.offset_ptr == OffsetPtr::Null && spec.input_seekable() && o.in_pos != spec.in_pos + sum)
            d.push_back(std::string(who[i]) + ": input position advanced to " + std::to_string(o.in_pos) +
                        ", expected " + std::to_string(spec.in_pos + sum));
        if (spec.offset_ptr == OffsetPtr::Given && spec.input_seekable() && o.in_pos != spec.in_pos)
            d.push_back(std::string(who[i]) + ": input position moved to " + std::to_string(o.in_pos));
    }
    guard_differences(spec, k, s, d);
    if (k.calls.empty() || s.calls.empty()) {
        d.push_back("no calls recorded");
        return;
    }
    if ((k.calls.front().ret > 0) != (s.calls.front().ret > 0) ||
        (k.calls.front().ret < 0 && k.calls.front().err != s.calls.front().err))
        d.push_back("first call: kernel " + show_ret(k.calls.front()) + ", shim " + show_ret(s.calls.front()));
    // How far each gets before EAGAIN depends on buffer accounting (the
    // kernel queues spliced pages that a copy could not), so only the
    // errors themselves must be ones the kernel gives too, or EAGAIN.
    for (const CallResult &c : s.calls) {
        if (c.ret >= 0 || c.err == EAGAIN)
            continue;
        bool kernel_too = false;
        for (const CallResult &kc : k.calls)
            kernel_too = kernel_too || (kc.ret < 0 && kc.err == c.err);
        if (!kernel_too)
            d.push_back("shim error the kernel never gave here: " + show_ret(c));
    }
    for (const CallResult &c : s.calls)
        if (c.ret >= 0 && c.err != kErrnoSentinel)
            d.push_back("shim changed errno on success: " + show_ret(c));
    size_t n = k.bytes.size() < s.bytes.size() ? k.bytes.size() : s.bytes.size();
    if (k.bytes.compare(0, n, s.bytes, 0, n) != 0)
        d.push_back("received bytes: " + first_byte_difference(k.bytes, s.bytes));
    if (k.sigpipe_pending != s.sigpipe_pending)
        d.push_back(std::string("SIGPIPE pending: kernel ") + (k.sigpipe_pending ? "yes" : "no") +
                    ", shim " + (s.sigpipe_pending ? "yes" : "no"));
}

std::vector<std::string> differences(const Spec &spec, const Observation &k, const Observation &s)
{
    std::vector<std::string> d;
    if (!k.harness_error.empty())
        d.push_back("kernel run broke: " + k.harness_error);
    if (!s.harness_error.empty())
        d.push_back("shim run broke: " + s.harness_error);
    if (k.drain_timed_out || s.drain_timed_out)
        d.push_back("a reader timed out");
    if (!d.empty())
        return d;
    if (spec.partial_counts()) {
        partial_differences(spec, k, s, d);
        return d;
    }
    if (k.calls.size() != s.calls.size()) {
        d.push_back("number of calls differs");
        return d;
    }
    for (size_t i = 0; i < k.calls.size(); ++i) {
        const CallResult &a = k.calls[i], &b = s.calls[i];
        if (a.ret != b.ret)
            d.push_back("return value: kernel " + show_ret(a) + ", shim " + show_ret(b));
        else if (a.err != b.err)
            d.push_back(std::string(a.ret < 0 ? "errno" : "errno after success") + ": kernel " +
                        errno_name(a.err) + ", shim " + errno_name(b.err));
    }
    if (k.offset_readable != s.offset_readable || k.offset_after != s.offset_after)
        d.push_back("offset after the call: kernel " + std::to_string(k.offset_after) + ", shim " +
                    std::to_string(s.offset_after));
    guard_differences(spec, k, s, d);
    if (k.in_pos != s.in_pos || (k.in_pos < 0 && k.in_pos_err != s.in_pos_err))
        d.push_back("input file position: kernel " + show_pos(k.in_pos, k.in_pos_err) + ", shim " +
                    show_pos(s.in_pos, s.in_pos_err));
    if (k.out_pos != s.out_pos || (k.out_pos < 0 && k.out_pos_err != s.out_pos_err))
        d.push_back("output file position: kernel " + show_pos(k.out_pos, k.out_pos_err) + ", shim " +
                    show_pos(s.out_pos, s.out_pos_err));
    if (k.bytes != s.bytes)
        d.push_back((spec.out == Out::File ? "output file contents: " : "received bytes: ") +
                    first_byte_difference(k.bytes, s.bytes));
    if (k.dgrams != s.dgrams)
        d.push_back("datagram sizes: kernel " + show_dgrams(k.dgrams) + ", shim " + show_dgrams(s.dgrams));
    if (k.sigpipe_pending != s.sigpipe_pending)
        d.push_back(std::string("SIGPIPE pending: kernel ") + (k.sigpipe_pending ? "yes" : "no") +
                    ", shim " + (s.sigpipe_pending ? "yes" : "no"));
    if (k.waited_for_reader != s.waited_for_reader)
        d.push_back(std::string("waited for the late reader: kernel ") + (k.waited_for_reader ? "yes" : "no") +
                    ", shim " + (s.waited_for_reader ? "yes" : "no"));
    if (k.sigxfsz_pending != s.sigxfsz_pending)
        d.push_back(std::string("SIGXFSZ pending: kernel ") + (k.sigxfsz_pending ? "yes" : "no") +
                    ", shim " + (s.sigxfsz_pending ? "yes" : "no"));
    return d;
}

} // namespace sfdiff
