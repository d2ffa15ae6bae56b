#!/usr/bin/python3
"""What clients/python/ordergate_client.py costs beside a bare pyzmq DEALER, in the same run.

Against one ordergated (--gateway), or one this script starts with an ordergate-bridge-sim on
kernel-chosen loopback ports (--bin-dir; --durability async by default, so that the client's own
cost is not hidden under fsyncs). Rounds alternate the modes, so both see the same gateway,
bridge and machine state:

  bare/1     a DEALER, one OPEN at a time: json.dumps, send [empty][body], recv, json.loads,
             check the uuid and FILLED (what a strategy must at least do; no PENDING handling,
             no timers, no reconnects)
  client/1   Client.submit(), one at a time
  bare/W     the DEALER with W requests outstanding (closed loop)
  client/W   Client.submit_many() of W orders at a time

Per mode: orders/s, latency p50/p99 (call to outcome, on the caller's side; one-at-a-time modes
only: with a window it measures queueing), and this process's CPU per order (time.process_time:
pyzmq's I/O thread included).

usage: python_client_bench.py (--gateway ENDPOINT | --bin-dir DIR) [--orders 2000] [--window 32]
                              [--rounds 3] [--durability async]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "clients", "python"))
import zmq  # noqa: E402
import ordergate_client as og  # noqa: E402

TIMEOUT_MS = 2000


def body(uuid):
    return {"action": "OPEN", "uuid": uuid, "symbol": "EURUSD", "type": "BUY", "volume": 0.01,
            "timeout_ms": TIMEOUT_MS}


def bare(ctx, endpoint, n, window):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, 10000)
    s.connect(endpoint)
    sent_at, lat, failed, nxt, done = {}, [], 0, 0, 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    while done < n:
        while nxt < n and nxt - done < window:
            u = str(uuidlib.uuid4())
            nxt += 1
            sent_at[u] = time.perf_counter()
            s.send_multipart([b"", json.dumps(body(u)).encode()])
        reply = json.loads(s.recv_multipart()[-1])
        start = sent_at.pop(reply.get("uuid"), None)
        if start is None:
            continue
        failed += reply.get("status") != "FILLED"
        lat.append(time.perf_counter() - start)
        done += 1
    secs, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    s.close()
    return secs, cpu, lat, failed


def client(c, n, window):
    lat, failed = [], 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    done = 0
    while done < n:
        k = min(window, n - done)
        start = time.perf_counter()
        if k == 1:
            outs = [c.submit("EURUSD", "BUY", 0.01)]
        else:
            outs = c.submit_many([og.Order("EURUSD", "BUY", 0.01) for _ in range(k)])
        lat.append(time.perf_counter() - start)
        failed += sum(not o.filled for o in outs)
        done += k
    secs, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return secs, cpu, lat, failed


def start_world(bin_dir, durability):
    d = tempfile.mkdtemp(prefix="ordergate-pybench-")
    sim = subprocess.Popen([os.path.join(bin_dir, "ordergate-bridge-sim"), "--bind",
                            "tcp://127.0.0.1:*", "--log-level", "warn"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    sim_ep = sim.stdout.readline().strip().split(" on ")[1]
    gw = subprocess.Popen([os.path.join(bin_dir, "ordergated"), "--listen", "tcp://127.0.0.1:*",
                           "--bridge", sim_ep, "--data-dir", os.path.join(d, "data"),
                           "--durability", durability, "--log-level", "warn",
                           "--metrics-listen", "127.0.0.1:0"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = gw.stdout.readline()
    return d, [gw, sim], re.search(r"listen=(\S+)", line).group(1)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gateway")
    p.add_argument("--bin-dir")
    p.add_argument("--orders", type=int, default=2000)
    p.add_argument("--window", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--durability", default="async")
    a = p.parse_args()
    if not a.gateway and not a.bin_dir:
        p.error("--gateway or --bin-dir")
    tmp, procs, endpoint = (None, [], a.gateway)
    if not a.gateway:
        tmp, procs, endpoint = start_world(a.bin_dir, a.durability)
    try:
        ctx = zmq.Context.instance()
        c = og.Client(endpoint, request_timeout_ms=TIMEOUT_MS)
        c.ping()
        bare(ctx, endpoint, 200, 1)  # warm-up: connections, the store's first writes
        client(c, 200, 1)
        modes = {"bare/1": [], "client/1": [], "bare/%d" % a.window: [],
                 "client/%d" % a.window: []}
        for _ in range(a.rounds):
            modes["bare/1"].append(bare(ctx, endpoint, a.orders // 4, 1))
            modes["client/1"].append(client(c, a.orders // 4, 1))
            modes["bare/%d" % a.window].append(bare(ctx, endpoint, a.orders, a.window))
            modes["client/%d" % a.window].append(client(c, a.orders, a.window))
        print("endpoint %s, %s, python %s, pyzmq %s / libzmq %s; %d rounds" %
              (endpoint, "own gateway durability=" + a.durability if tmp else "given gateway",
               sys.version.split()[0], zmq.__version__, zmq.zmq_version(), a.rounds))
        print("%-10s %8s %9s %8s %8s %13s" % ("mode", "orders", "orders/s", "p50 us", "p99 us",
                                               "CPU us/order"))
        for name, runs in modes.items():
            one = name.endswith("/1")
            orders = (a.orders // 4 if one else a.orders) * len(runs)
            secs = sum(r[0] for r in runs)
            cpu = sum(r[1] for r in runs)
            failed = sum(r[3] for r in runs)
            lat = sorted(x for r in runs for x in r[2])
            # Per-order latency for the one-at-a-time modes only (a window's is its queueing).
            p50 = "%8.0f" % (lat[len(lat) // 2] * 1e6) if one else "%8s" % "-"
            p99 = "%8.0f" % (lat[max(0, int(len(lat) * 0.99) - 1)] * 1e6) if one else "%8s" % "-"
            print("%-10s %8d %9.0f %s %s %13.1f%s" %
                  (name, orders, orders / secs, p50, p99, cpu / orders * 1e6,
                   "  (%d not FILLED)" % failed if failed else ""))
        c.close()
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
