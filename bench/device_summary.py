#!/usr/bin/env python3
"""Issue 12's figures from the ordergate-bench JSON reports that bench/device_run.sh wrote.

    python3 bench/device_summary.py RESULTS_DIR

Reads RESULTS_DIR/{closed-4x64,closed-2x128,closed-8x128,open-50k,open-10k,sync-10k,
embedded-sequential}.json (any of them may be missing: its lines say so) and prints one line per
figure, each with the issue's target beside it. Prints only; the targets are not asserted.
"""
import json
import os
import statistics
import sys


def load(results, name):
    path = os.path.join(results, name + ".json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def cpu(run, role):
    for p in (run.get("cpu") or {}).get("processes", []):
        if p["role"] == role:
            return p.get("us_per_order")
    return None


def num(v, digits=0):
    return "-" if v is None else f"{v:,.{digits}f}".replace(",", " ")


def ratio(a, b):
    return a / b if a is not None and b else None


def mark(ok):
    return "met" if ok else "NOT met"


def closed_loop(results, out):
    shapes = {"closed-4x64": "4 x 64", "closed-2x128": "2 x 128", "closed-8x128": "8 x 128"}
    runs = {n: load(results, n) for n in shapes}
    best = {}
    for name, d in runs.items():
        if d is None:
            out.append(f"closed loop {shapes[name]}: no report ({name}.json)")
            continue
        g, b = d["ordergate"], d["baseline"]
        out.append(
            f"closed loop {shapes[name]}: ordergate {num(g['throughput_per_s'])}/s "
            f"({g['success_rate'] * 100:.2f} % FILLED), forwarder {num(b['throughput_per_s'])}/s, "
            f"ratio {num(ratio(g['throughput_per_s'], b['throughput_per_s']), 2)}")
        for side, r in (("ordergate", g), ("baseline", b)):
            if r["throughput_per_s"] > best.get(side, (0, ""))[0]:
                best[side] = (r["throughput_per_s"], shapes[name])
    d = runs["closed-4x64"]
    if d is not None:
        g, b = d["ordergate"]["throughput_per_s"], d["baseline"]["throughput_per_s"]
        r = ratio(g, b)
        out.append(
            f"  closed-loop maximum (4 x 64): {num(g)}/s, {num(r, 2)}x the forwarder's {num(b)}/s "
            f"(issue 12: >= 150 000/s and >= 0.7x: {mark(g >= 150000 and (r or 0) >= 0.7)})")
    if "ordergate" in best and runs["closed-8x128"] is not None:
        top, shape = best["ordergate"]
        at8 = runs["closed-8x128"]["ordergate"]["throughput_per_s"]
        out.append(
            f"  8 x 128: {num(at8)}/s = {at8 / top * 100:.1f} % of ordergate's best ({num(top)}/s at "
            f"{shape}) (issue 12: within 10 %: {mark(at8 >= 0.9 * top)}); forwarder's best "
            f"{num(best.get('baseline', (0, ''))[0])}/s at {best.get('baseline', (0, '-'))[1]}")
    if d is not None:
        g, b = d["ordergate"], d["baseline"]
        gw, fw = cpu(g, "gateway"), cpu(b, "forwarder")
        r = ratio(gw, fw)
        out.append(
            f"CPU per order at saturation (4 x 64; utime+stime of each whole process from "
            f"/proc/PID/stat over the measured window): ordergated {num(gw, 2)} us, forwarder "
            f"{num(fw, 2)} us, ratio {num(r, 2)} (issue 12, stated for 2 vCPUs: <= 2); simulator "
            f"{num(cpu(g, 'bridge'), 2)} / {num(cpu(b, 'bridge'), 2)} us, harness "
            f"{num(cpu(g, 'harness'), 2)} / {num(cpu(b, 'harness'), 2)} us "
            f"(ordergate run / forwarder run)")


def open_loop(results, out):
    d = load(results, "open-50k")
    if d is None:
        out.append("open loop 50 k/s: no report (open-50k.json)")
    else:
        g, b = d["ordergate"]["fates"], d["baseline"]["fates"]
        not_filled = g["orders"] - g["FILLED"]
        out.append(
            f"open loop 50 k/s (30 % retries): ordergate {d['headline']}; forwarder "
            f"{b['FILLED']} of {b['orders']} FILLED (issue 12: every order FILLED: "
            f"{mark(not_filled == 0 and g['orders'] > 0)})")
    d = load(results, "open-10k")
    if d is None:
        out.append("open loop 10 k/s: no report (open-10k.json)")
        return None
    g, b = d["ordergate"]["latency_us"], d["baseline"]["latency_us"]
    r50, r99 = ratio(g["p50"], b["p50"]), ratio(g["p99"], b["p99"])
    out.append(
        f"open loop 10 k/s async (30 % retries): ordergate p50 / p99 {num(g['p50'])} / "
        f"{num(g['p99'])} us, forwarder {num(b['p50'])} / {num(b['p99'])} us, ratios "
        f"{num(r50, 2)} / {num(r99, 2)} (issue 12: <= 1.15 / <= 1.3: "
        f"{mark((r50 or 9) <= 1.15 and (r99 or 9) <= 1.3)})")
    return d


def sync_line(results, out, async_run):
    d = load(results, "sync-10k")
    if d is None or async_run is None:
        out.append("sync open loop 10 k/s: no report (sync-10k.json or open-10k.json)")
        return
    probes = [x["machine"]["fdatasync_4k_us"] for x in (d, async_run)]
    p99s = [p["p99"] for p in probes if p]
    if not p99s:
        out.append("sync open loop 10 k/s: no fdatasync probe in the reports")
        return
    f99 = statistics.median(p99s)
    s, a = d["ordergate"]["latency_us"], async_run["ordergate"]["latency_us"]
    bound = a["p99"] + 3 * f99
    out.append(
        f"sync open loop 10 k/s: p50 / p99 {num(s['p50'])} / {num(s['p99'])} us; async (same "
        f"invocation) {num(a['p50'])} / {num(a['p99'])} us; fdatasync p99 {num(f99)} us (probes "
        f"{', '.join(num(p) for p in p99s)}); sync p99 - async p99 = {num(s['p99'] - a['p99'])} us "
        f"= {(s['p99'] - a['p99']) / f99:.1f} fdatasync p99s (issue 12: sync p99 <= async p99 + 3 x "
        f"fdatasync p99 = {num(bound)} us: {mark(s['p99'] <= bound)})")


def sequential(results, out):
    d = load(results, "embedded-sequential")
    if d is None:
        out.append("embedded SubmitAndWait: not run (no embedded-sequential.json)")
        return
    seq = d.get("sequential") or []
    if not seq:
        out.append("embedded SubmitAndWait: the report has no \"sequential\" section")
        return
    out.append(
        "one order at a time, same invocation (FILLED latency p50 / p99 / max us): " + "; ".join(
            f"{s['target']} {num(s['latency_us']['p50'])} / {num(s['latency_us']['p99'])} / "
            f"{num(s['latency_us'].get('max'))} ({s['FILLED']} of {s['orders']} FILLED)"
            for s in seq))
    g = d.get("ordergate") or {}
    lat = g.get("latency_us")
    if lat:
        out.append(
            f"  embedded open loop {num(d['config']['rate'])}/s beside it: p50 / p99 "
            f"{num(lat['p50'])} / {num(lat['p99'])} us; {d['headline']}; CPU per order of this "
            f"process (gateway and harness) {num(cpu(g, 'gateway'), 2)} us")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    results = sys.argv[1]
    out = ["== issue 12's figures (bench/device_run.sh; each run's report and command in log.txt)"]
    any_run = load(results, "closed-4x64") or load(results, "open-10k")
    if any_run is not None:
        m = any_run["machine"]
        loadavg = " ".join(f"{x:.2f}" for x in m["loadavg"])
        out.append(f"machine: {m['cpus']} CPUs, load average {loadavg} at the start of a run")
    closed_loop(results, out)
    async_run = open_loop(results, out)
    sync_line(results, out, async_run)
    sequential(results, out)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
