#!/usr/bin/env python3
"""Turns the benchmark binaries' JSON into per-workload tables of medians, spreads and
herald/peer ratios, checks the targets of DESIGN.md section 7, and writes bench/RESULTS.md.

Benchmark names are "W<n>.<what>/<parameter>/<implementation>[/modifiers]"; implementations
whose name starts with "herald" are herald's, every other one is a peer.
"""

import argparse
import json
import re
import statistics
import sys
from collections import OrderedDict, defaultdict

MODIFIERS = re.compile(r"(/(real_time|manual_time|iterations:\d+|min_time:[\d.]+))+$")


def quantile(sorted_values, q):
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


class Stat:
    """Median and spread of one measurement over the repetitions."""

    def __init__(self, values):
        self.values = sorted(values)
        self.median = statistics.median(self.values)
        self.min = self.values[0]
        self.max = self.values[-1]
        self.iqr = quantile(self.values, 0.75) - quantile(self.values, 0.25)

    @property
    def spread(self):
        """(max - min) / median."""
        return (self.max - self.min) / self.median if self.median else 0.0


def load_runs(path):
    """{(workload, parameter, implementation): {metric: Stat}} from a Google Benchmark JSON."""
    with open(path) as f:
        text = f.read()
    # A filter (HERALD_BENCH_FILTER) that matches none of a binary's benchmarks leaves its
    # output empty: that binary simply contributes no rows.
    data = json.loads(text) if text.strip() else {"benchmarks": []}
    samples = defaultdict(lambda: defaultdict(list))
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        name = MODIFIERS.sub("", b["run_name"])
        parts = name.split("/")
        if len(parts) != 3:
            continue
        key = tuple(parts)
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        # In-process single-thread benchmarks are timed in CPU time (robust on a shared
        # machine); Redis round trips and the cross-thread W4 runs in wall-clock time.
        wall = "/real_time" in b["run_name"] or "/manual_time" in b["run_name"]
        samples[key]["ns"].append((b["real_time"] if wall else b["cpu_time"]) * scale)
        for counter in ("deliveries_per_s", "published_per_s", "p50_us", "p99_us", "p999_us",
                        "max_us", "pattern_evaluations_per_publish", "receivers_per_publish",
                        "delivered_share", "dropped"):
            if counter in b:
                samples[key][counter].append(b[counter])
    errors = [b["name"] + ": " + b.get("error_message", "")
              for b in data["benchmarks"] if b.get("error_occurred")]
    runs = OrderedDict()
    for key, metrics in samples.items():
        runs[key] = {m: Stat(v) for m, v in metrics.items()}
    return runs, data.get("context", {}), errors


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e4:
        return f"{ns / 1e3:.1f} µs"
    if ns >= 100:
        return f"{ns:.0f} ns"
    return f"{ns:.2f} ns" if ns < 10 else f"{ns:.1f} ns"


def fmt_rate(r):
    return f"{r / 1e6:.2f} M/s" if r >= 1e6 else f"{r / 1e3:.0f} k/s"


def fmt_ratio(r):
    """2.31x, 0.45x, or 1/1160x for very small ratios."""
    return f"{r:.2f}x" if r >= 0.1 else f"1/{1 / r:,.0f}x"


def cell(stat, fmt):
    return f"{fmt(stat.median)} ±{stat.spread * 100:.0f}%"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def ordered_unique(items):
    return list(OrderedDict.fromkeys(items))


def workload_tables(runs, workload, metric="ns", fmt=fmt_ns, per_delivery=False,
                    higher_is_better=False, param_label="parameter"):
    keys = [k for k in runs if k[0] == workload and metric in runs[k]]
    if not keys:
        return ""
    params = ordered_unique(k[1] for k in keys)
    impls = ordered_unique(k[2] for k in keys)
    impls = [i for i in impls if i.startswith("herald")] + \
        [i for i in impls if not i.startswith("herald")]
    rows = []
    for impl in impls:
        row = [f"**{impl}**" if impl.startswith("herald") else impl]
        for p in params:
            s = runs.get((workload, p, impl), {}).get(metric)
            row.append(cell(s, fmt) if s else "—")
        rows.append(row)
    text = [f"### {workload}", "",
            "Median over the repetitions, ± spread = (max − min) / median.", "",
            table([f"implementation \\ {param_label}"] + params, rows), ""]
    if per_delivery:
        rows = []
        for impl in impls:
            row = [impl]
            for p in params:
                s = runs.get((workload, p, impl), {}).get(metric)
                row.append(fmt(s.median / float(p)) if s else "—")
            rows.append(row)
        text += ["Per delivery (median per publish / subscribers):", "",
                 table([f"implementation \\ {param_label}"] + params, rows), ""]
    herald = [i for i in impls if i.startswith("herald")]
    peers = [i for i in impls if not i.startswith("herald")]
    if herald and peers:
        rows = []
        for h in herald:
            for peer in peers:
                row = [f"{h} / {peer}"]
                for p in params:
                    a = runs.get((workload, p, h), {}).get(metric)
                    b = runs.get((workload, p, peer), {}).get(metric)
                    row.append(fmt_ratio(a.median / b.median) if a and b and b.median else "—")
                rows.append(row)
        note = "higher is better" if higher_is_better else "lower is better for herald"
        text += [f"Ratio herald / peer ({note}):", "",
                 table(["ratio \\ " + param_label] + params, rows), ""]
    return "\n".join(text)


def get(runs, workload, param, impl, metric="ns"):
    s = runs.get((workload, str(param), impl), {}).get(metric)
    return s.median if s else None


class Targets:
    def __init__(self):
        self.rows = []

    def check(self, label, value, limit, kind, unit=""):
        """kind: 'max' (value must be <= limit) or 'min' (value must be >= limit)."""
        if value is None:
            self.rows.append([label, "not measured", f"{'≤' if kind == 'max' else '≥'} {limit}{unit}",
                              "—"])
            return
        ok = value <= limit if kind == "max" else value >= limit
        shown = f"{value:.3g}{unit}"
        self.rows.append([label, shown, f"{'≤' if kind == 'max' else '≥'} {limit}{unit}",
                          "met" if ok else "**missed**"])

    def ratio(self, label, a, b, limit, kind):
        self.check(label, a / b if a is not None and b else None, limit, kind, "x")

    def markdown(self):
        return table(["target", "measured", "required", "status"], self.rows)


def check_targets(inline, queued, memory):
    t = Targets()
    for n in (1, 10, 100):
        h = get(inline, "W1.fanout", n, "herald_publisher")
        t.ratio(f"W1 {n} subs: herald publisher / Boost.Signals2", h,
                get(inline, "W1.fanout", n, "boost_signals2"), 0.2, "max")
        t.ratio(f"W1 {n} subs: herald publisher / libsigc++", h,
                get(inline, "W1.fanout", n, "sigc++"), 0.5, "max")
    t.ratio("W1 100 subs: herald publisher / vector floor",
            get(inline, "W1.fanout", 100, "herald_publisher"),
            get(inline, "W1.fanout", 100, "vector_floor"), 1.4, "max")
    for n in (1, 10, 100):
        t.ratio(f"W1 {n} subs: herald single_threaded / vector floor",
                get(inline, "W1.fanout", n, "herald_single_threaded"),
                get(inline, "W1.fanout", n, "vector_floor"), 1.5, "max")
    for n in (10000, 1000000):
        t.ratio(f"W2 {n} channels: herald / unordered_map floor",
                get(inline, "W2.routing", n, "herald"),
                get(inline, "W2.routing", n, "unordered_map_floor"), 1.3, "max")
    for kind in ("glob", "nats"):
        t.ratio(f"W3 {kind}: herald 100,000 patterns / 100 patterns",
                get(inline, f"W3.{kind}", 100000, "herald"),
                get(inline, f"W3.{kind}", 100, "herald"), 3, "max")
        t.ratio(f"W3 {kind} 100,000 patterns: linear scan / herald",
                get(inline, f"W3.{kind}", 100000, "linear_scan"),
                get(inline, f"W3.{kind}", 100000, "herald"), 100, "min")
    rate = get(queued, "W4.throughput", "1to1", "herald", "deliveries_per_s")
    t.check("W4 1→1 throughput, herald (M msg/s)", rate / 1e6 if rate else None, 8, "min")
    t.ratio("W4 1→1 throughput: herald / ZeroMQ inproc", rate,
            get(queued, "W4.throughput", "1to1", "zeromq_inproc", "deliveries_per_s"), 2, "min")
    t.check("W4 1→1 p50 latency at 100 k msg/s, herald (µs)",
            get(queued, "W4.latency", "1to1", "herald", "p50_us"), 5, "max")
    t.check("W4 1→1 p99 latency at 100 k msg/s, herald (µs)",
            get(queued, "W4.latency", "1to1", "herald", "p99_us"), 50, "max")
    t.check("W5 subscribe + unsubscribe pair, herald (ns)",
            get(inline, "W5.churn", "pair", "herald"), 60, "max")
    if memory is not None:
        def mem(workload, name):
            for r in memory:
                if r["workload"] == workload and r["name"] == name:
                    return r["value"]
            return None
        t.check("W6 bytes per subscription, one channel, herald (settled)",
                mem("W6.bytes_one_channel", "herald (settled)"), 96, "max", " B")
        t.check("W6 bytes per subscription, one channel each, herald",
                mem("W6.bytes_channel_each", "herald"), 200, "max", " B")
        worst = [r["value"] for r in memory
                 if r["workload"] == "W6.allocs_per_publish" and r["name"].startswith("herald")]
        t.check("W6 heap allocations per inline publish, herald (worst case)",
                max(worst) if worst else None, 0, "max")
    return t


def memory_tables(memory):
    rows = []
    for r in memory:
        if r["workload"].startswith("W6.bytes"):
            rows.append([r["workload"].replace("W6.bytes_", ""), r["name"],
                         f"{r['value']:.1f}", f"{r['requested']:.1f}",
                         f"{r['allocs_per_sub']:.2f}" if r["allocs_per_sub"] else "—",
                         f"{r['count']:,}", f"{r['seconds']:.2f} s", r.get("note", "")])
    text = ["### W6.memory", "",
            "Heap bytes = requested bytes plus glibc malloc's per-block overhead (8-byte header, "
            "16-byte rounding, 32-byte minimum); the peers' published figures count it too. "
            "Allocations per subscription count calls made while subscribing, not live blocks. "
            "Handle storage (the vector of handles/connections) is reserved before the baseline "
            "and not counted.", "",
            table(["layout", "implementation", "heap B/sub", "requested B/sub", "allocs/sub",
                   "subscriptions", "time to subscribe", "note"], rows), ""]
    rows = [[r["name"], f"{r['value']:.4f}", f"{r['count']:,}"]
            for r in memory if r["workload"] == "W6.allocs_per_publish"]
    text += ["Heap allocations per inline publish (steady state, 10 subscribers unless noted):", "",
             table(["implementation", "allocations / publish", "publishes"], rows), ""]
    return "\n".join(text)


def headline(inline, queued, memory):
    """One compact table: herald's primary variant against the best peer of each workload."""
    rows = []

    def add(label, h, peers, fmt=fmt_ns, higher=False):
        if h is None:
            return
        parts = []
        for name, v in peers:
            if v is not None:
                ratio = (h / v)
                parts.append(f"{name} {fmt(v)} ({fmt_ratio(ratio)})")
        rows.append([label, fmt(h), "; ".join(parts)])

    for n in (1, 10, 100):
        add(f"W1 fan-out, {n} subs (per publish)", get(inline, "W1.fanout", n, "herald_publisher"),
            [("floor", get(inline, "W1.fanout", n, "vector_floor")),
             ("sigc++", get(inline, "W1.fanout", n, "sigc++")),
             ("Boost.Signals2", get(inline, "W1.fanout", n, "boost_signals2"))])
        add(f"W1 fan-out, {n} subs, single_threaded",
            get(inline, "W1.fanout", n, "herald_single_threaded"),
            [("floor", get(inline, "W1.fanout", n, "vector_floor"))])
    for n in (10000, 1000000):
        add(f"W2 routing, {n:,} channels", get(inline, "W2.routing", n, "herald"),
            [("unordered_map", get(inline, "W2.routing", n, "unordered_map_floor")),
             ("Redis", get(inline, "W2.routing", n, "redis_loopback"))])
    for kind in ("glob", "nats"):
        for n in (100, 100000):
            add(f"W3 {kind}, {n:,} patterns", get(inline, f"W3.{kind}", n, "herald"),
                [("linear scan", get(inline, f"W3.{kind}", n, "linear_scan")),
                 ("Redis", get(inline, f"W3.{kind}", n, "redis_psubscribe"))])
    for shape in ("1to1", "2to2"):
        add(f"W4 throughput {shape.replace('to', '→')} (deliveries/s)",
            get(queued, "W4.throughput", shape, "herald", "deliveries_per_s"),
            [("moodycamel", get(queued, "W4.throughput", shape, "moodycamel", "deliveries_per_s")),
             ("ZeroMQ", get(queued, "W4.throughput", shape, "zeromq_inproc", "deliveries_per_s")),
             ("mutex+deque",
              get(queued, "W4.throughput", shape, "mutex_deque_floor", "deliveries_per_s"))],
            fmt=fmt_rate, higher=True)
        for q in ("p50_us", "p99_us"):
            add(f"W4 latency {shape.replace('to', '→')} {q[:-3]} at 100 k msg/s",
                get(queued, "W4.latency", shape, "herald", q),
                [("moodycamel", get(queued, "W4.latency", shape, "moodycamel", q)),
                 ("ZeroMQ", get(queued, "W4.latency", shape, "zeromq_inproc", q)),
                 ("mutex+deque", get(queued, "W4.latency", shape, "mutex_deque_floor", q))],
                fmt=lambda v: f"{v:.1f} µs")
    add("W5 churn (subscribe + unsubscribe)", get(inline, "W5.churn", "pair", "herald"),
        [("floor", get(inline, "W5.churn", "pair", "vector_floor")),
         ("sigc++", get(inline, "W5.churn", "pair", "sigc++")),
         ("Boost.Signals2", get(inline, "W5.churn", "pair", "boost_signals2"))])
    if memory:
        def mem(workload, name):
            for r in memory:
                if r["workload"] == workload and r["name"] == name:
                    return r["value"]
            return None
        b = lambda v: f"{v:.0f} B"
        add("W6 bytes/sub, one channel (settled)", mem("W6.bytes_one_channel", "herald (settled)"),
            [("floor", mem("W6.bytes_one_channel", "vector_floor")),
             ("sigc++", mem("W6.bytes_one_channel", "sigc++")),
             ("Boost.Signals2", mem("W6.bytes_one_channel", "boost_signals2"))], fmt=b)
        add("W6 bytes/sub, one channel each", mem("W6.bytes_channel_each", "herald"),
            [("unordered_map", mem("W6.bytes_channel_each", "unordered_map_floor")),
             ("Redis server", mem("W6.bytes_channel_each", "redis_server"))], fmt=b)
    return table(["workload", "herald (median)", "peers (median, herald/peer)"], rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inline", required=True, help="herald_bench JSON")
    ap.add_argument("--queued", required=True, help="herald_bench_queued JSON")
    ap.add_argument("--memory", help="herald_bench_memory JSON")
    ap.add_argument("--meta", required=True, help="JSON: machine, compiler, versions, command")
    ap.add_argument("--out", required=True, help="RESULTS.md to write")
    args = ap.parse_args()

    inline, context, errors_a = load_runs(args.inline)
    queued, _, errors_b = load_runs(args.queued)
    memory = None
    if args.memory:
        with open(args.memory) as f:
            memory = json.load(f)["rows"]
    with open(args.meta) as f:
        meta = json.load(f)

    sections = []
    sections.append(headline(inline, queued, memory))
    targets = check_targets(inline, queued, memory)
    detail = []
    detail.append(workload_tables(inline, "W1.fanout", per_delivery=True,
                                  param_label="subscribers"))
    detail.append(workload_tables(inline, "W2.routing", param_label="channels"))
    detail.append(workload_tables(inline, "W2.no_subscriber", param_label="channels"))
    detail.append(workload_tables(inline, "W3.glob", param_label="patterns"))
    detail.append(workload_tables(inline, "W3.nats", param_label="patterns"))
    detail.append(workload_tables(queued, "W4.throughput", metric="deliveries_per_s",
                                  fmt=fmt_rate, higher_is_better=True, param_label="shape"))
    for q, label in (("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9")):
        text = workload_tables(queued, "W4.latency", metric=q, fmt=lambda v: f"{v:.1f} µs",
                               param_label="shape")
        detail.append(text.replace("### W4.latency", f"### W4.latency {label} at 100 k msg/s", 1))
    policy = workload_tables(queued, "W4.policy", metric="published_per_s", fmt=fmt_rate,
                             higher_is_better=True, param_label="shape")
    if policy:
        detail.append(policy.replace("### W4.policy", "### W4.policy: herald's lossy overflow "
                                     "policies, publish rate (one publisher flat out)", 1))
        detail.append(workload_tables(queued, "W4.policy", metric="delivered_share",
                                      fmt=lambda v: f"{v * 100:.1f}%", param_label="shape")
                      .replace("### W4.policy", "### W4.policy: share of messages delivered", 1))
    detail.append(workload_tables(inline, "W5.churn", param_label="workload"))
    if memory:
        detail.append(memory_tables(memory))

    md = ["# herald benchmark results", "",
          "Generated by `scripts/bench.sh`; do not edit by hand.", "",
          "## Run", "",
          f"- Date: {meta.get('date', '?')}",
          f"- Command: `{meta.get('command', '?')}`",
          f"- Machine: {meta.get('cpu', '?')}, {meta.get('cores', '?')} cores "
          f"(load average at start: {meta.get('load', '?')}); kernel {meta.get('kernel', '?')}",
          f"- Compiler: {meta.get('compiler', '?')}, flags: `{meta.get('flags', '?')}`",
          f"- Repetitions: {meta.get('repetitions', '?')}, minimum time per repetition "
          f"{meta.get('min_time', '?')} s",
          "- Library versions: " + ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items()),
          "",
          "Times are per publish (per subscribe + unsubscribe pair for W5). In-process "
          "single-thread benchmarks report CPU time; Redis round trips and the cross-thread W4 "
          "runs report wall-clock time. Every cell is the median over the repetitions; ± is "
          "(max − min) / median.",
          "",
          "## Headline", "", sections[0], "",
          "## Targets (DESIGN.md §7)", "", targets.markdown(), "",
          "Why each missed target is missed, with the profiles: "
          "[bench/ANALYSIS.md](ANALYSIS.md).", "",
          "## Per workload", ""] + [d for d in detail if d]
    if errors_a or errors_b:
        md += ["## Errors", ""] + [f"- {e}" for e in errors_a + errors_b] + [""]
    if meta.get("notes"):
        md += ["## Notes", ""] + [f"- {n}" for n in meta["notes"]] + [""]
    text = "\n".join(md) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
