#!/usr/bin/env python3
"""Throughput against file size from sfbench's CSV: one panel per transport,
one line per method and call size (median, with the min-max range as error
bars; calls of a fixed size dash-dotted, with hollow markers).

usage: plot.py CELLS.csv OUT.png
"""
# SPDX-License-Identifier: BSD-2-Clause
import csv
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("plot.py: matplotlib is missing (Debian: python3-matplotlib); no plot")
    sys.exit(3)

TRANSPORTS = {
    "tcp": "loopback TCP",
    "unix": "Unix stream socket",
    "pipe": "pipe",
    "file": "file → file",
}
STYLE = {
    "kernel": dict(color="black", linewidth=2.4, marker="o"),
    "mmap": dict(color="tab:blue", marker="s"),
    "rw": dict(color="tab:orange", marker="^"),
    "emulate": dict(color="tab:green", marker="D"),
    "auto-nosendfile": dict(color="tab:red", marker="v", linestyle="--"),
    "loop8k": dict(color="tab:gray", marker="x", linestyle=":"),
    "loop64k": dict(color="tab:brown", marker="+", linestyle=":"),
}


def size_label(n):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    cells = {}
    with open(sys.argv[1], newline="") as f:
        for row in csv.DictReader(f):
            per_call = row.get("per_call") or "whole"
            cells.setdefault(row["transport"], {}).setdefault((row["method"], per_call), []).append(
                (int(row["size_bytes"]), float(row["mbps_median"]),
                 float(row["mbps_min"]), float(row["mbps_max"])))
    transports = [t for t in TRANSPORTS if t in cells] + [t for t in cells if t not in TRANSPORTS]
    if not transports:
        print("plot.py: no cells in the CSV", file=sys.stderr)
        return 1
    cols = 2 if len(transports) > 1 else 1
    rows = (len(transports) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.4 * cols, 4.4 * rows), squeeze=False)
    sizes = sorted({s for t in cells.values() for m in t.values() for s, *_ in m})
    for ax, t in zip(axes.flat, transports):
        for (method, per_call), points in cells[t].items():
            points.sort()
            xs = [p[0] for p in points]
            ys = [p[1] for p in points]
            err = [[p[1] - p[2] for p in points], [p[3] - p[1] for p in points]]
            style = dict(STYLE.get(method, {}))
            label = method
            if per_call != "whole":
                style["linestyle"] = "-."
                style["markerfacecolor"] = "none"
                style["alpha"] = 0.8
                label = f"{method}, {per_call} calls"
            ax.errorbar(xs, ys, yerr=err, label=label, capsize=2, markersize=4, **style)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([size_label(s) for s in sizes])
        ax.set_title(TRANSPORTS.get(t, t))
        ax.set_xlabel("file size")
        ax.set_ylabel("MB/s (median, min–max)")
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(transports):]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat:  # every line once, whichever panel has it
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    ncol = min(len(labels), 7)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)
    legend_rows = (len(labels) + ncol - 1) // ncol
    fig.suptitle("sendfile throughput: the kernel, sfshim's engines, read/write loops")
    fig.tight_layout(rect=(0, 0.02 + 0.03 * legend_rows, 1, 0.97))
    fig.savefig(sys.argv[2], dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
