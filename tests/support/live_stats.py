"""Reads the shim's live stats file (shim/src/stats_file.h) on its own: the
tests' second opinion on the layout, beside sfshim-doctor's rendering.

    python3 live_stats.py FILE     prints one JSON object per used slot
"""
import json
import struct
import sys

MAGIC = 0x31734D4948534653
HEADER_SIZE = 4096
SLOT_SIZE = 256
SLOTS = 4096
FILE_SIZE = HEADER_SIZE + SLOTS * SLOT_SIZE
COUNTERS = ("calls native_calls emulated_calls mmap_calls rw_calls bytes native_bytes mmap_bytes rw_bytes "
            "fallbacks mmap_fallbacks errors retries cache_hits cache_misses cache_bypasses "
            "cache_evictions").split()
STATES = {1: "live", 2: "exited", 3: "shared"}


def read(path):
    """(header dict, [slot dicts]) of the file; ValueError if it is not one."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) != FILE_SIZE:
        raise ValueError(f"{path}: {len(data)} bytes, not {FILE_SIZE}")
    magic, slot_size, slots, claimed, _, shared = struct.unpack_from("<QIIIIQ", data, 0)
    if magic != MAGIC or slot_size != SLOT_SIZE or slots != SLOTS:
        raise ValueError(f"{path}: not a live stats file (magic {magic:#x})")
    header = {"claimed": claimed, "shared_processes": shared}
    out = []
    for i in range(SLOTS):
        base = HEADER_SIZE + i * SLOT_SIZE
        state, pid, started, ended, mode, enosys = struct.unpack_from("<IiQQII", data, base)
        if state == 0:
            continue
        slot = {"slot": i, "state": STATES.get(state, str(state)), "pid": pid, "started_ns": started,
                "ended_ns": ended, "mode": mode, "kernel_enosys": bool(enosys)}
        slot.update(zip(COUNTERS, struct.unpack_from(f"<{len(COUNTERS)}Q", data, base + 32)))
        slot.update(zip(("cache_entries", "cache_mapped_bytes", "cache_peak_mapped_bytes", "cache_cap_bytes"),
                        struct.unpack_from("<4Q", data, base + 32 + 8 * len(COUNTERS))))
        out.append(slot)
    return header, out


if __name__ == "__main__":
    h, slots = read(sys.argv[1])
    print(json.dumps(h))
    for s in slots:
        print(json.dumps(s))
