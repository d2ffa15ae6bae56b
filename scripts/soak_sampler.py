#!/usr/bin/python3
"""The soak's sampler and judge (driven by scripts/soak.sh; Debian's /usr/bin/python3, stdlib only).

  soak_sampler.py sample --pid PID --http-port PORT --data-dir DIR --duration-s 600 \
      --interval-s 10 --csv OUT/soak.csv
  soak_sampler.py report --csv OUT/soak.csv --png OUT/soak.png --bench-json B.json \
      --bench-rc 0 --gateway-alive 1 --gateway-rc 0 --duration-s 600 [thresholds]

`sample` writes one CSV row per interval (t=0 first, flushed as it goes) with the gateway's RSS,
descriptors (those on files under the data directory apart from the rest: RocksDB keeps every SST
open, so its count follows the LSM tree, while sockets/pipes/eventfds must stay flat), threads,
the data directory's size (du: allocated blocks, and the apparent WAL/SST bytes), the gateway's
order counters (/metrics), and the window's p50/p99 of stage "total" from GET /latency (cumulative
buckets diffed between two samples). When /latency is absent (404) the p99 columns stay empty and
the window's order count comes from /metrics.

`report` judges the samples taken after the warm-up share of the run, writes the PNG (gnuplot),
prints a summary table, and exits 1 with one line per failed check.
"""

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

FIELDS = [
    "t_s", "rss_mb", "fds", "fds_store", "fds_other", "threads", "store_du_mb", "store_mb", "wal_mb",
    "wal_newest_mb",
    "sst_mb", "sst_files", "orders_total", "window_orders", "window_rate", "p50_ms", "p99_ms",
    "in_flight", "store_mem_mb", "latency_source",
]
# Gauges of RocksDB's own memory, used when the gateway's /metrics has them (summed): then the
# judged memory is RSS minus these instead of an estimate from the WAL.
STORE_MEMORY_GAUGES = ("ordergate_store_memtable_bytes", "ordergate_store_block_cache_bytes")

# Defaults of the checks (flags override). Why these values: see docs/RELIABILITY.md's soak section.
DEFAULT_WARMUP_SHARE = 0.5
DEFAULT_MAX_RSS_SLOPE_MB_MIN = 3.0  # ~100 bytes/order kept at 500 orders/s
# RSS growth per live-WAL byte measured before the first flush at the default workload (durability
# sync, 30% retries): 1.2 (the records memtable ~1.0, the inflight one the rest).
DEFAULT_MEMTABLE_PER_WAL_BYTE = 1.2
DEFAULT_MIN_GROWTH_MB = 8.0  # ... and only when the judged stretch gained this much
DEFAULT_MAX_FD_GROWTH = 8
DEFAULT_MAX_STORE_FDS = 256
DEFAULT_MAX_THREAD_GROWTH = 2
DEFAULT_MAX_STORE_BYTES_PER_ORDER = 4096


# ---------------------------------------------------------------------------------------------
# sampling


def proc_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except OSError:
        return False


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def fd_counts(pid, data_dir):
    total = store = 0
    prefix = os.path.realpath(data_dir) + os.sep
    fd_dir = f"/proc/{pid}/fd"
    for name in os.listdir(fd_dir):
        total += 1
        try:
            target = os.readlink(os.path.join(fd_dir, name))
        except OSError:
            continue  # closed between listdir and readlink
        if target.startswith(prefix):
            store += 1
    return total, store


def dir_sizes(path):
    """(du bytes: allocated blocks, apparent bytes, of which WAL and SST, the newest WAL file's
    bytes, SST file count).

    du counts the WAL's preallocated blocks (RocksDB fallocates ~1.1 x write_buffer_size per log
    file), so it jumps by whole WAL files; the apparent size follows what was written. Every flush
    starts a new WAL file, so the newest one holds what was written since the last flush."""
    du = apparent = wal = sst = nsst = 0
    newest = (-1, 0)
    for root, _, files in os.walk(path):
        for name in files:
            try:
                st = os.stat(os.path.join(root, name))
            except OSError:
                continue  # deleted by a flush or compaction meanwhile
            du += st.st_blocks * 512
            apparent += st.st_size
            if name.endswith(".log"):
                wal += st.st_size
                number = int(name[:-4]) if name[:-4].isdigit() else 0
                newest = max(newest, (number, st.st_size))
            elif name.endswith(".sst"):
                sst += st.st_size
                nsst += 1
    return du, apparent, wal, newest[1], sst, nsst


def http_get(port, path, timeout_s=3.0):
    """(status, body); status 0 when the endpoint cannot be reached."""
    if not port:
        return 0, ""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout_s) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""
    except (urllib.error.URLError, OSError):
        return 0, ""


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        # "name value" or "name{labels} value": keyed by everything before the value.
        name, _, value = line.rpartition(" ")
        if name:
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def total_stage(latency_json):
    """{(lower_ns, upper_ns): count} and count of stage "total", or None when unusable."""
    try:
        stage = json.loads(latency_json)["stages"]["total"]
        return {(int(lo), int(hi)): int(n) for lo, hi, n in stage["buckets"]}, int(stage["count"])
    except (ValueError, KeyError, TypeError):
        return None


def quantile(buckets, q):
    """Value at quantile q (ms) of {(lower_ns, upper_ns): count}, interpolated inside its bucket."""
    n = sum(buckets.values())
    if n <= 0:
        return None
    rank = max(1, math.ceil(q * n))
    seen = 0
    for (lo, hi), c in sorted(buckets.items()):
        if c <= 0:
            continue
        if seen + c >= rank:
            return (lo + (hi - lo) * (rank - seen) / c) / 1e6
        seen += c
    return None


def cmd_sample(a):
    prev_buckets, prev_count, prev_orders, prev_t = None, None, None, None
    said_fallback = False
    t0 = time.monotonic()
    k = 0
    with open(a.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        f.flush()
        while True:
            target = t0 + k * a.interval_s
            while time.monotonic() < target:
                time.sleep(min(0.5, target - time.monotonic()))
                if not proc_alive(a.pid):
                    break
            if not proc_alive(a.pid):
                print(f"soak: the gateway (pid {a.pid}) is gone at t={time.monotonic() - t0:.0f}s",
                      file=sys.stderr)
                return 1
            now = time.monotonic()
            try:
                st = proc_status(a.pid)
                fds, fds_store = fd_counts(a.pid, a.data_dir)
            except OSError:
                print(f"soak: the gateway (pid {a.pid}) vanished while sampled", file=sys.stderr)
                return 1
            du, apparent, wal, wal_newest, sst, nsst = dir_sizes(a.data_dir)
            code, body = http_get(a.http_port, "/metrics")
            m = parse_metrics(body) if code == 200 else {}
            orders = None
            if m:
                orders = int(sum(m.get(f'ordergate_orders_total{{outcome="{o}"}}', 0)
                                 for o in ("filled", "rejected", "unknown")))
            row = {
                "t_s": round(now - t0, 1),
                "rss_mb": round(int(st["VmRSS"].split()[0]) / 1024, 2),
                "fds": fds, "fds_store": fds_store, "fds_other": fds - fds_store,
                "threads": int(st["Threads"]),
                "store_du_mb": round(du / 2**20, 3), "store_mb": round(apparent / 2**20, 3),
                "wal_mb": round(wal / 2**20, 3), "wal_newest_mb": round(wal_newest / 2**20, 3),
                "sst_mb": round(sst / 2**20, 3), "sst_files": nsst,
                "orders_total": "" if orders is None else orders,
                "window_orders": "", "window_rate": "", "p50_ms": "", "p99_ms": "",
                "in_flight": "" if not m else int(m.get("ordergate_orders_in_flight", 0)),
                "store_mem_mb": "" if not any(g in m for g in STORE_MEMORY_GAUGES) else
                round(sum(m.get(g, 0) for g in STORE_MEMORY_GAUGES) / 2**20, 3),
                "latency_source": "",
            }
            lcode, lbody = http_get(a.http_port, "/latency")
            parsed = total_stage(lbody) if lcode == 200 else None
            if parsed is not None:
                buckets, count = parsed
                row["latency_source"] = "latency"
                if prev_buckets is not None:
                    window = {b: c - prev_buckets.get(b, 0) for b, c in buckets.items()}
                    wn = count - prev_count
                    row["window_orders"] = wn
                    row["window_rate"] = round(wn / (now - prev_t), 1)
                    p50, p99 = quantile(window, 0.50), quantile(window, 0.99)
                    row["p50_ms"] = "" if p50 is None else round(p50, 3)
                    row["p99_ms"] = "" if p99 is None else round(p99, 3)
                prev_buckets, prev_count = buckets, count
            else:
                if not said_fallback:
                    print(f"soak: GET /latency answered {lcode or 'nothing'}: p99 not recorded, "
                          "window orders from /metrics", file=sys.stderr)
                    said_fallback = True
                row["latency_source"] = "metrics" if orders is not None else "none"
                if orders is not None and prev_orders is not None:
                    row["window_orders"] = orders - prev_orders
                    row["window_rate"] = round((orders - prev_orders) / (now - prev_t), 1)
            prev_orders, prev_t = orders, now
            w.writerow(row)
            f.flush()
            print("soak: t=%5.0fs rss %7.1f MB  fds %3d (store %3d)  threads %3d  store %8.1f MB  "
                  "orders %8s  window p99 %s ms" % (
                      row["t_s"], row["rss_mb"], fds, fds_store, row["threads"],
                      row["store_du_mb"], row["orders_total"], row["p99_ms"] or "-"), flush=True)
            if k * a.interval_s >= a.duration_s:
                return 0
            k += 1


# ---------------------------------------------------------------------------------------------
# judging


def num(v):
    if v is None or v == "":
        return None
    return float(v)


def slope(xs, ys):
    """Least-squares slope of ys over xs, or None with fewer than 2 points."""
    pts = [(x, y) for x, y in zip(xs, ys) if x is not None and y is not None]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    if den == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den


def median(xs):
    v = sorted(xs)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def pooled_slope(xs, ys, groups):
    """Least-squares slope shared by every group (each with its own intercept): a step between
    groups does not count, a trend inside them does. None when no group has 2 distinct x."""
    num_, den = 0.0, 0.0
    for g in set(groups):
        pts = [(x, y) for x, y, k in zip(xs, ys, groups) if k == g]
        mx = sum(p[0] for p in pts) / len(pts)
        my = sum(p[1] for p in pts) / len(pts)
        num_ += sum((p[0] - mx) * (p[1] - my) for p in pts)
        den += sum((p[0] - mx) ** 2 for p in pts)
    return num_ / den if den > 0 else None


def plot(rows, png, warm_t, fit, title, have_p99, resid, resid_label):
    if not shutil.which("gnuplot"):
        return "gnuplot not installed"
    data = png + ".dat"
    cols = [k for k in FIELDS if k != "latency_source"]
    with open(data, "w") as f:
        for r, x in zip(rows, resid):
            f.write(" ".join(str(r.get(k, "")) if r.get(k, "") != "" else "NaN" for k in cols)
                    + f" {x}\n")
    col = {k: i + 1 for i, k in enumerate(cols)}
    col["resid"] = len(cols) + 1
    a, b = fit if fit else (0, 0)
    fit_expr = f"({a}) + ({b}) * x" if fit else "NaN"
    if have_p99:
        latency_panel = f"""set title "order latency per window, stage total, GET /latency (ms)"
set yrange [0:*]
plot "{data}" using {col['t_s']}:{col['p99_ms']} with linespoints lw 2 title "p99", \\
     "{data}" using {col['t_s']}:{col['p50_ms']} with linespoints title "p50"
"""
    else:
        latency_panel = f"""set title "orders/s per window (/metrics; no GET /latency: no p99)"
set yrange [0:*]
plot "{data}" using {col['t_s']}:{col['window_rate']} with linespoints lw 2 title "orders/s"
"""
    script = f"""
set terminal pngcairo size 1400,900 font ",10"
set output "{png}"
set datafile missing "NaN"
set multiplot layout 2,2 title "{title}"
set xlabel "time (s)"
set grid
set key below horizontal
set arrow from {warm_t}, graph 0 to {warm_t}, graph 1 nohead dt 2 lc rgb "gray"
set label 1 "warm-up ends" at {warm_t}, graph 0.04 offset 0.5,0 tc rgb "gray"
set title "gateway RSS (MB)"
set yrange [0:*]
plot "{data}" using {col['t_s']}:{col['rss_mb']} with linespoints lw 2 title "VmRSS", \\
     "{data}" using {col['t_s']}:{col['resid']} with linespoints lw 2 title "{resid_label}", \\
     (x >= {warm_t} ? {fit_expr} : 1/0) with lines dt 3 lw 2 lc rgb "red" title "its pooled fit after warm-up"
set title "open file descriptors"
set yrange [0:*]
plot "{data}" using {col['t_s']}:{col['fds']} with linespoints lw 2 title "all", \\
     "{data}" using {col['t_s']}:{col['fds_other']} with linespoints title "sockets, pipes, ...", \\
     "{data}" using {col['t_s']}:{col['fds_store']} with linespoints title "RocksDB files", \\
     "{data}" using {col['t_s']}:{col['threads']} with lines dt 2 title "threads"
set title "RocksDB data directory (MB)"
set yrange [0:*]
set y2tics
set y2label "orders done"
plot "{data}" using {col['t_s']}:{col['store_du_mb']} with linespoints lw 2 title "du", \\
     "{data}" using {col['t_s']}:{col['wal_mb']} with lines title "WAL (apparent)", \\
     "{data}" using {col['t_s']}:{col['sst_mb']} with lines title "SST", \\
     "{data}" using {col['t_s']}:{col['orders_total']} axes x1y2 with lines dt 2 lc rgb "gray" title "orders (right axis)"
unset y2tics
unset y2label
{latency_panel}
unset multiplot
"""
    res = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    os.remove(data)
    if res.returncode != 0:
        return "gnuplot failed: " + res.stderr.strip()[:500]
    return None


def bench_summary(j):
    """The figures the soak reports, from either ordergate-bench JSON layout (flat, or the
    per-target one with an "ordergate" object)."""
    if "ordergate" in j:
        o = j["ordergate"]
        lat = o.get("latency_us", {})
        outcomes = o.get("outcomes", {})
        return {
            "duplicate_executions": o.get("duplicate_executions"),
            "unanswered": o.get("orders_without_final_outcome"),
            "filled": outcomes.get("FILLED"), "rejected": outcomes.get("REJECTED"),
            "unknown": outcomes.get("UNKNOWN"), "throughput": o.get("throughput_per_s"),
            "p50_us": lat.get("p50"), "p99_us": lat.get("p99"), "p999_us": lat.get("p99.9"),
            "refusals": o.get("refusals_by_code", {}),
        }
    return {k: j.get(k) for k in ("duplicate_executions", "unanswered", "filled", "rejected",
                                  "unknown", "throughput", "p50_us", "p99_us", "p999_us")}


def cmd_report(a):
    with open(a.csv) as f:
        rows = list(csv.DictReader(f))
    failures, notes = [], []
    if not rows:
        print("soak: no samples were taken", file=sys.stderr)
        return 1
    t = [num(r["t_s"]) for r in rows]
    rss = [num(r["rss_mb"]) for r in rows]
    warm_t = a.warmup_share * a.duration_s
    judged = [i for i, x in enumerate(t) if x >= warm_t]
    if len(judged) < 3:
        judged = list(range(max(0, len(rows) - 3), len(rows)))
        notes.append("fewer than 3 samples after the warm-up: the last 3 are judged")
    loaded = 1 if len(rows) > 1 else 0  # first sample with the load running: the baseline
    last = len(rows) - 1

    # Memory. RocksDB's memtables grow with every order until a flush (64 MB per column family by
    # default: minutes at soak rates), so raw RSS climbs for a long time by design. What must stay
    # flat is the RSS they do not explain: RSS minus the memtables, read from the gateway's gauge
    # when /metrics has one, else estimated as k x the newest WAL file (what was written since the
    # last flush; k = RSS bytes per WAL byte, measured on this workload). Its slope is pooled over
    # the flush-free stretches after the warm-up (a flush is a step, not a trend), in MB/minute.
    wal_total = [num(r["wal_mb"]) or 0.0 for r in rows]
    wal = wal_total
    if all(num(r.get("wal_newest_mb", "")) is not None for r in rows):
        wal = [num(r["wal_newest_mb"]) for r in rows]
    gauge = [num(r.get("store_mem_mb", "")) for r in rows]
    use_gauge = all(g is not None for g in gauge)
    explained = gauge if use_gauge else [a.memtable_per_wal_byte * w for w in wal]
    resid = [r - e for r, e in zip(rss, explained)]
    segment, seg = [], 0
    for i, r in enumerate(rows):
        if i > 0 and (r["sst_files"] != rows[i - 1]["sst_files"] or wal[i] < wal[i - 1]):
            seg += 1
        segment.append(seg)
    s = pooled_slope([t[i] for i in judged], [resid[i] for i in judged],
                     [segment[i] for i in judged])
    resid_slope = None if s is None else s * 60
    raw = slope([t[i] for i in judged], [rss[i] for i in judged])
    rss_slope = None if raw is None else raw * 60
    fit = None
    if s is not None:
        mx = sum(t[i] for i in judged) / len(judged)
        my = sum(resid[i] for i in judged) / len(judged)
        fit = (my - s * mx, s)
    # Growth inside the judged stretches (the pooled fit's rise over their summed lengths): a slope
    # counts only with enough MB behind it, so that a transient (a backlog's queued messages, an
    # allocator step) in a 60 s run's few points does not fail it while a steady leak does.
    span_s = sum(max(t[i] for i in judged if segment[i] == g) - min(t[i] for i in judged
                                                                    if segment[i] == g)
                 for g in set(segment[i] for i in judged))
    resid_growth = None if s is None else s * span_s
    if (resid_slope is not None and resid_slope > a.max_rss_slope_mb_min
            and resid_growth > a.min_growth_mb):
        failures.append(f"RSS not explained by RocksDB's memtables grows {resid_slope:.2f} MB/min "
                        f"after the warm-up, {resid_growth:.1f} MB in {span_s:.0f} s (limits "
                        f"{a.max_rss_slope_mb_min} MB/min and {a.min_growth_mb} MB)")

    # Descriptors: sockets/pipes must stay flat; RocksDB's files follow its SST count, bounded.
    other = [int(r["fds_other"]) for r in rows]
    store_fds = [int(r["fds_store"]) for r in rows]
    if other[last] > other[loaded] + a.max_fd_growth:
        failures.append(f"non-store descriptors {other[loaded]} -> {other[last]} "
                        f"(allowed growth {a.max_fd_growth})")
    if store_fds[last] > a.max_store_fds:
        failures.append(f"{store_fds[last]} descriptors on RocksDB files (limit {a.max_store_fds})")
    threads = [int(r["threads"]) for r in rows]
    if threads[last] > threads[loaded] + a.max_thread_growth:
        failures.append(f"threads {threads[loaded]} -> {threads[last]} "
                        f"(allowed growth {a.max_thread_growth})")

    # Store size per order: growth of the data directory's apparent size (du also counts the WAL's
    # preallocated blocks) from the first to the last sample, over the orders done meanwhile.
    orders = [num(r["orders_total"]) for r in rows]
    du = [num(r["store_du_mb"]) for r in rows]
    app = [num(r.get("store_mb", "")) for r in rows]
    if app[0] is None:
        app = du
    bytes_per_order = None
    if orders[last] is not None and orders[0] is not None and orders[last] > orders[0]:
        bytes_per_order = (app[last] - app[0]) * 2**20 / (orders[last] - orders[0])
        if bytes_per_order > a.max_store_bytes_per_order:
            failures.append(f"the data directory grows {bytes_per_order:.0f} bytes/order "
                            f"(limit {a.max_store_bytes_per_order})")
    elif orders[last] is None:
        notes.append("no /metrics: orders and bytes/order unknown")

    # Latency windows. p99 "flat": the median window p99 after the warm-up may not exceed the one
    # before it by a large factor (a gateway slowing down with the orders it has seen, e.g. a scan
    # over a growing map); loose on purpose, because a shared 2-core machine moves p99 a lot.
    p99s = [num(r["p99_ms"]) for r in rows[1:] if num(r["p99_ms"]) is not None]
    early = [num(rows[i]["p99_ms"]) for i in range(1, len(rows))
             if i not in judged and num(rows[i]["p99_ms"]) is not None]
    late = [num(rows[i]["p99_ms"]) for i in judged if num(rows[i]["p99_ms"]) is not None]
    p99_growth = None
    if early and late and median(early) > 0:
        p99_growth = median(late) / median(early)
    if not p99s:
        notes.append("no p99: GET /latency was not served (fell back to /metrics counters)")
    else:
        if a.max_p99_ms > 0 and max(p99s) > a.max_p99_ms:
            failures.append(f"a window's p99 reached {max(p99s):.2f} ms (limit {a.max_p99_ms} ms)")
        if (p99_growth is not None and p99_growth > a.max_p99_growth
                and median(late) > a.p99_floor_ms):
            failures.append(f"window p99 grew {p99_growth:.1f}x after the warm-up (median "
                            f"{median(early):.2f} -> {median(late):.2f} ms; limit "
                            f"{a.max_p99_growth:g}x above {a.p99_floor_ms:g} ms)")

    # The processes and the bench.
    raw_bench = {}
    try:
        with open(a.bench_json) as f:
            raw_bench = json.load(f)
    except (OSError, ValueError):
        failures.append("the bench wrote no report (crashed or was killed)")
    bench = bench_summary(raw_bench)
    if not a.gateway_alive or last < 1 or t[last] + a.interval_s < a.duration_s:
        failures.append("the gateway died during the run")
    elif a.gateway_rc != 0:
        failures.append(f"the gateway exited {a.gateway_rc} on SIGTERM (expected 0)")
    dup = bench.get("duplicate_executions", -1)
    if dup is not None and dup > 0:
        failures.append(f"the bridge executed {dup} uuids twice (bench exit {a.bench_rc})")
    if (bench.get("unanswered") or 0) > 0:
        failures.append(f"{bench['unanswered']} orders got no final outcome")
    if a.bench_rc != 0 and not failures:
        failures.append(f"the bench exited {a.bench_rc}")

    title = (f"ordergate soak: {a.duration_s:.0f} s at {a.rate:g}/s, durability={a.durability}; "
             f"unexplained RSS slope after warm-up "
             f"{resid_slope if resid_slope is not None else float('nan'):.2f} "
             f"MB/min ({'FAILED' if failures else 'passed'})")
    resid_label = ("RSS - memtables (gauge)" if use_gauge else
                   f"RSS - {a.memtable_per_wal_byte:g} x WAL since the last flush (memtable estimate)")
    perr = plot(rows, a.png, warm_t, fit, title, bool(p99s), resid, resid_label) if a.png else None
    if perr:
        notes.append("no PNG: " + perr)

    def fmt(v, spec=".1f"):
        return "-" if v is None else format(v, spec)

    how = ("/metrics gauges" if use_gauge else
           f"memtables ~ {a.memtable_per_wal_byte:g} x WAL since the last flush")
    lines = [
        ("samples", f"{len(rows)} every {a.interval_s:g}s; judged from t={t[judged[0]]:.0f}s "
                    f"(warm-up share {a.warmup_share:g})"),
        ("orders", f"{fmt(orders[last], '.0f')} done by the gateway; bench: filled "
                   f"{bench.get('filled', '-')}, rejected {bench.get('rejected', '-')}, unknown "
                   f"{bench.get('unknown', '-')}, no outcome {bench.get('unanswered', '-')}, "
                   f"throughput {fmt(bench.get('throughput'), '.0f')}/s; refusals "
                   f"{bench.get('refusals') or '-'}"),
        ("duplicate executions", f"{dup} (bridge journal)"),
        ("RSS MB", f"start {rss[0]:.1f}, loaded {rss[loaded]:.1f}, at warm-up end "
                   f"{rss[judged[0]]:.1f}, end {rss[last]:.1f}, max {max(rss):.1f}"),
        ("RSS minus memtables", f"start {resid[0]:.1f}, loaded {resid[loaded]:.1f}, at warm-up "
                                f"end {resid[judged[0]]:.1f}, end {resid[last]:.1f} MB ({how})"),
        ("its slope after warm-up", f"{fmt(resid_slope, '.2f')} MB/min, "
                                    f"{fmt(resid_growth, '.1f')} MB over "
                                    f"{len(set(segment[i] for i in judged))} flush-free stretch(es) "
                                    f"(fails above {a.max_rss_slope_mb_min:g} MB/min and "
                                    f"{a.min_growth_mb:g} MB); raw RSS "
                                    f"{fmt(rss_slope, '.2f')} MB/min"),
        ("fds (non-store)", f"loaded {other[loaded]}, end {other[last]}, max {max(other)} "
                            f"(allowed +{a.max_fd_growth})"),
        ("fds on RocksDB files", f"loaded {store_fds[loaded]}, end {store_fds[last]}, "
                                 f"max {max(store_fds)} (limit {a.max_store_fds})"),
        ("threads", f"loaded {threads[loaded]}, end {threads[last]}"),
        ("data dir MB", f"apparent {app[0]:.1f} -> {app[last]:.1f} (WAL {wal_total[last]:.1f}, SST "
                        f"{rows[last]['sst_mb']} in {rows[last]['sst_files']} files); du "
                        f"{du[0]:.1f} -> {du[last]:.1f}"),
        ("store bytes/order", f"{fmt(bytes_per_order, '.0f')} (limit "
                              f"{a.max_store_bytes_per_order:g})"),
        ("window p99 ms", "-" if not p99s else
         f"median {median(p99s):.2f}, max {max(p99s):.2f}, last {p99s[-1]:.2f}; after/before "
         f"warm-up {fmt(p99_growth, '.2f')}x (fails above {a.max_p99_growth:g}x)"),
        ("bench latency us", f"p50 {fmt(bench.get('p50_us'))}, p99 {fmt(bench.get('p99_us'))}, "
                             f"p99.9 {fmt(bench.get('p999_us'))}"),
        ("gateway", "alive at the end, exit 0 on SIGTERM"
         if a.gateway_alive and a.gateway_rc == 0 else
         f"alive={a.gateway_alive} exit={a.gateway_rc}"),
    ]
    w = max(len(k) for k, _ in lines)
    print("\n== soak summary")
    for k, v in lines:
        print(f"  {k:<{w}}  {v}")
    for n in notes:
        print(f"  note: {n}")
    if failures:
        print("soak: FAILED:", file=sys.stderr)
        for x in failures:
            print("  - " + x, file=sys.stderr)
        return 1
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--http-port", type=int, default=0)
    s.add_argument("--data-dir", required=True)
    s.add_argument("--duration-s", type=float, required=True)
    s.add_argument("--interval-s", type=float, default=10)
    s.add_argument("--csv", required=True)
    r = sub.add_parser("report")
    r.add_argument("--csv", required=True)
    r.add_argument("--png", default="")
    r.add_argument("--bench-json", default="")
    r.add_argument("--bench-rc", type=int, default=0)
    r.add_argument("--gateway-alive", type=int, default=1)
    r.add_argument("--gateway-rc", type=int, default=0)
    r.add_argument("--duration-s", type=float, required=True)
    r.add_argument("--interval-s", type=float, default=10)
    r.add_argument("--rate", type=float, default=0)
    r.add_argument("--durability", default="sync")
    r.add_argument("--warmup-share", type=float, default=DEFAULT_WARMUP_SHARE)
    r.add_argument("--max-rss-slope-mb-min", type=float, default=DEFAULT_MAX_RSS_SLOPE_MB_MIN)
    r.add_argument("--memtable-per-wal-byte", type=float, default=DEFAULT_MEMTABLE_PER_WAL_BYTE)
    r.add_argument("--min-growth-mb", type=float, default=DEFAULT_MIN_GROWTH_MB)
    r.add_argument("--max-fd-growth", type=int, default=DEFAULT_MAX_FD_GROWTH)
    r.add_argument("--max-store-fds", type=int, default=DEFAULT_MAX_STORE_FDS)
    r.add_argument("--max-thread-growth", type=int, default=DEFAULT_MAX_THREAD_GROWTH)
    r.add_argument("--max-store-bytes-per-order", type=float,
                   default=DEFAULT_MAX_STORE_BYTES_PER_ORDER)
    r.add_argument("--max-p99-ms", type=float, default=0)
    r.add_argument("--max-p99-growth", type=float, default=10.0)
    r.add_argument("--p99-floor-ms", type=float, default=100.0)
    a = p.parse_args()
    return cmd_sample(a) if a.cmd == "sample" else cmd_report(a)


if __name__ == "__main__":
    sys.exit(main())
