#!/usr/bin/python3
"""End to end tests of clients/python/ordergate_client.py against a real ordergated and
ordergate-bridge-sim (processes on kernel-chosen loopback ports, each case in its own temporary
directory, every wait bounded). ctest runs one case per process
(tests/clients/python/CMakeLists.txt). ORDERGATE_PYCLIENT_GW_LOG=info: ordergated's log level.

usage: ordergate_client_test.py --bin-dir DIR CASE     (CASE: a function name below; --list)
Exit 0: passed; 1: failed (the reason on stderr); 77: skipped (python3-zmq missing).
"""
import argparse
import collections
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "clients", "python"))
try:
    import ordergate_client as og  # needs python3-zmq
except ImportError as e:  # python3-zmq is not installed: scripts/install-deps.sh installs it
    print("skipped: %s" % e, file=sys.stderr)
    sys.exit(77)

BIN_DIR = None
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # The child is SIGKILLed by the kernel if this test process dies (as tests/e2e's children are).
    # The signal follows the THREAD that started the child: start them from the main thread.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


class World:
    """A temporary directory, an ordergate-bridge-sim and an ordergated; all killed on exit."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ordergate-pyclient-")
        self.sim = None
        self.gw = None
        self.gw_endpoint = None
        self.sim_endpoint = None
        self.starts = collections.Counter()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in (self.gw, self.sim):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)
        if exc[0] is None and not os.environ.get("ORDERGATE_E2E_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("kept %s" % self.dir, file=sys.stderr)

    @property
    def journal(self):
        return os.path.join(self.dir, "journal.jsonl")

    def _start(self, name, args, ready, timeout_s):
        self.starts[name] += 1
        err = open(os.path.join(self.dir, "%s-%d.stderr" % (name, self.starts[name])), "w")
        p = subprocess.Popen([os.path.join(BIN_DIR, name)] + args, stdout=subprocess.PIPE,
                             stderr=err, text=True, preexec_fn=_die_with_parent)
        found = []
        reader = threading.Thread(target=lambda: found.append(p.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        line = found[0] if found else ""
        if ready not in line:
            p.kill()
            raise Failed("%s did not start: %r; stderr: %s" % (name, line, open(err.name).read()))
        return p, line.strip()

    def start_sim(self, *extra):
        self.sim, line = self._start(
            "ordergate-bridge-sim", ["--bind", "tcp://127.0.0.1:*", "--journal", self.journal,
                                     "--log-level", "warn"] + list(extra),
            "ordergate-bridge-sim listening on ", 15)
        self.sim_endpoint = line.split(" on ")[1]

    def start_gateway(self, *extra, listen="tcp://127.0.0.1:*", client_kwargs=None):
        self.gw, line = self._start(
            "ordergated", ["--listen", listen, "--bridge", self.sim_endpoint, "--data-dir",
                           os.path.join(self.dir, "data"), "--log-level",
                           os.environ.get("ORDERGATE_PYCLIENT_GW_LOG", "warn"),
                           "--metrics-listen", "127.0.0.1:0"] + list(extra),
            "ordergated ready ", 20)
        self.gw_endpoint = re.search(r"listen=(\S+)", line).group(1)
        self.metrics_port = int(re.search(r"metrics_port=(\d+)", line).group(1))
        check(self.gw_endpoint.startswith("tcp://127.0.0.1:"), line)
        self.wait_bridge_up(client_kwargs=client_kwargs)

    def wait_bridge_up(self, timeout_s=10, client_kwargs=None):
        with og.Client(self.gw_endpoint, request_timeout_ms=1000, **(client_kwargs or {})) as c:
            end = time.monotonic() + timeout_s
            while time.monotonic() < end:
                try:
                    if c.ping(1000).get("gateway", {}).get("bridge") == "up":
                        return
                except TimeoutError:
                    pass
                time.sleep(0.05)
        raise Failed("the bridge link of ordergated is not up")

    def kill_gateway(self):
        self.gw.kill()  # SIGKILL: kill -9
        self.gw.wait(10)

    def executions(self):
        """uuid -> the tickets the simulator's journal holds for it (one line per execution)."""
        out = collections.defaultdict(list)
        if os.path.exists(self.journal):
            for line in open(self.journal):
                if line.strip():
                    entry = json.loads(line)
                    out[entry["uuid"]].append(entry.get("ticket"))
        return out


# Small, aligned gateway timeouts (as tests/e2e/e2e_timeout_test.cc): 500 > 300 + 100; UNKNOWN
# orders asked about every 200 ms once their late reply can no longer come (1 s).
SHORT_TIMEOUTS = ["--bridge-signature-ttl-ms", "300", "--bridge-exec-margin-ms", "100",
                  "--bridge-timeout-ms", "500", "--client-timeout-ms", "2000",
                  "--unknown-query-interval-ms", "200", "--late-reply-window-ms", "1000"]

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def fills_and_replays():
    """The Python client's orders are FILLED once each, and a uuid submitted again replays its
    ticket without executing again."""
    with World() as w:
        w.start_sim("--latency", "uniform:1:5", "--workers", "4")
        w.start_gateway()
        with og.Client(w.gw_endpoint) as c:
            orders = [og.Order("EURUSD", "BUY" if i % 2 else "SELL", 0.01 * (1 + i % 5))
                      for i in range(40)]
            first = c.submit_many(orders)
            check(c.gateway and c.gateway.get("client_timeout_ms") == 2000, c.gateway)
            check(all(o.status == og.FILLED and o.ticket and not o.duplicate for o in first),
                  [o for o in first if not o.filled])
            check(all(UUID4.match(o.uuid) for o in first), [o.uuid for o in first])
            check(len({o.uuid for o in first}) == 40 and len({o.ticket for o in first}) == 40,
                  "uuids or tickets repeat")
            again = c.submit_many([og.Order("EURUSD", "BUY" if i % 2 else "SELL",
                                            0.01 * (1 + i % 5), uuid=first[i].uuid)
                                   for i in range(40)])
            for a, b in zip(first, again):
                check(b.status == og.FILLED and b.duplicate and b.ticket == a.ticket, (a, b))
            given = "py-%s" % uuidlib.uuid4().hex[:12]
            one = c.submit("EURUSD", "BUY", 0.02, uuid=given, comment="pyclient")
            check(one.filled and one.uuid == given, one)
            conflict = c.submit("EURUSD", "BUY", 0.03, uuid=given)
            check(conflict.status == og.REJECTED and
                  conflict.error_code == "IDEMPOTENCY_CONFLICT", conflict)
            status = c.status(given)
            check(status.filled and status.ticket == one.ticket, status)
            closed = c.close_position(one.ticket)
            check(closed.filled and closed.ticket == one.ticket, closed)
            check(c.status("never-sent").error_code == "NOT_FOUND", "ORDER_STATUS of a stranger")
            refused = c.submit("EURUSD", "BUY", -1.0)  # ordergate's refusal: at once, no retry
            check(refused.status == og.REJECTED and refused.error_code == "INVALID_VOLUME" and
                  refused.attempts == 1, refused)
            for bad in ("has space", "x" * 65, "\u00e9t\u00e9"):  # refused before sending
                try:
                    c.submit("EURUSD", "BUY", 0.01, uuid=bad)
                    raise Failed("uuid %r was sent" % bad)
                except ValueError:
                    pass
            check(not c.in_doubt(), c.in_doubt())
        ex = w.executions()
        for o in first + [one, closed]:
            check(ex.get(o.uuid) == [o.ticket], "%s executed %r" % (o.uuid, ex.get(o.uuid)))
        check(sum(len(v) for v in ex.values()) == 42, "executions: %d" % len(ex))


def pending_then_final():
    """On PENDING the Python client asks again with the same uuid until the slow bridge's FILLED,
    and sends no other uuid."""
    with World() as w:
        w.start_sim("--latency", "fixed:1200")
        w.start_gateway()
        with og.Client(w.gw_endpoint, request_timeout_ms=300) as c:
            t0 = time.monotonic()
            o = c.submit("EURUSD", "BUY", 0.01)
            took = time.monotonic() - t0
            check(o.filled and o.ticket, o)
            # 1.2 s of bridge time in 300 ms attempts: PENDING came back at least twice.
            check(o.attempts >= 3, "attempts %d (took %.2f s)" % (o.attempts, took))
            check(c.reconnects == 0, "reconnected %d times: a PENDING came late" % c.reconnects)
        ex = w.executions()
        check(dict(ex) == {o.uuid: [o.ticket]}, "journal: %r" % dict(ex))


def unknown_then_status():
    """After UNKNOWN the Python client never sends a new uuid for the order, and status() follows
    it to FILLED once the gateway learns the bridge's outcome."""
    with World() as w:
        w.start_sim("--fault-no-reply", "1", "--signature-ttl-ms", "300")
        w.start_gateway(*SHORT_TIMEOUTS)
        with og.Client(w.gw_endpoint) as c:
            o = c.submit("EURUSD", "SELL", 0.05)
            check(o.status == og.UNKNOWN and o.error_code == "BRIDGE_TIMEOUT" and o.in_doubt, o)
            check(list(c.in_doubt()) == [o.uuid], c.in_doubt())
            doubted = c.in_doubt()[o.uuid]
            # Asking again through submit uses the same uuid: UNKNOWN (never resent) or the
            # outcome the gateway has learnt since.
            again = c.submit_many([doubted])[0]
            check(again.uuid == o.uuid and again.status in (og.UNKNOWN, og.FILLED), again)
            check(again.duplicate, again)
            settled = c.wait_settled(o.uuid, deadline_ms=10000)
            check(settled.filled and settled.ticket, settled)
            check(not c.in_doubt(), c.in_doubt())
        ex = w.executions()
        check(dict(ex) == {o.uuid: [settled.ticket]}, "journal: %r" % dict(ex))


def kill9_mid_burst():
    """Orders of the Python client in flight through kill -9 of ordergated and its restart each
    end with one final outcome, and none executes twice."""
    gw_args = ["--bridge-signature-ttl-ms", "1000", "--bridge-exec-margin-ms", "200",
               "--bridge-timeout-ms", "1500", "--unknown-query-interval-ms", "300",
               "--client-timeout-ms", "1000", "--late-reply-window-ms", "1000",
               "--bridge-max-in-flight", "12"]
    with World() as w:
        w.start_sim("--latency", "uniform:20:60", "--workers", "4", "--signature-ttl-ms", "1000")
        w.start_gateway(*gw_args)
        endpoint = w.gw_endpoint  # the restart listens on the same port
        orders = [og.Order("EURUSD", "BUY" if i % 2 else "SELL", 0.01 * (1 + i % 9))
                  for i in range(120)]
        client = og.Client(endpoint, deadline_ms=40000)
        burst = []
        # The burst runs on its own thread; this one kills and restarts ordergated (children
        # belong to the thread that started them: PR_SET_PDEATHSIG).
        t = threading.Thread(target=lambda: burst.extend(client.submit_many(orders)), daemon=True)
        t.start()
        end = time.monotonic() + 30
        while time.monotonic() < end and sum(map(len, w.executions().values())) < 30:
            time.sleep(0.005)
        check(t.is_alive(), "the burst ended before the kill")
        w.kill_gateway()  # kill -9 with about a quarter of the burst executed
        time.sleep(0.3)
        w.start_gateway(*gw_args, listen=endpoint)
        t.join(60)
        check(len(burst) == 120, "submit_many did not return")
        with client as c:
            check(c.reconnects >= 1, "the client never replaced its socket")
            kinds = collections.Counter(o.status + "/" + str(o.error_code) for o in burst)
            print("first outcomes: %s; reconnects %d" % (dict(kinds), c.reconnects))
            check(all(o.status in (og.FILLED, og.REJECTED, og.UNKNOWN) for o in burst), kinds)
            check(all(o.error_code not in og.NOT_NOW_CODES for o in burst), kinds)
            # Every order ends with one final outcome: UNKNOWN ones settle through status().
            finals = {o.uuid: (o if o.final else c.wait_settled(o.uuid, deadline_ms=15000))
                      for o in burst}
            check(not c.in_doubt(), "still in doubt: %r" % list(c.in_doubt()))
        ex = w.executions()
        unsettled = [f for f in finals.values() if f.status not in (og.FILLED, og.REJECTED)]
        check(not unsettled, "unsettled: %r" % unsettled[:3])
        check(set(ex) <= set(finals), "the bridge executed uuids never submitted")
        for uuid, f in finals.items():
            want = [f.ticket] if f.filled else []
            check(ex.get(uuid, []) == want, "%s: final %s, executed %r" % (uuid, f, ex.get(uuid)))
        filled = sum(f.filled for f in finals.values())
        print("120 orders: %d FILLED, %d REJECTED, %d executions, each once" %
              (filled, 120 - filled, sum(map(len, ex.values()))))


def gateway_starts_late():
    """A Python client that starts before ordergated keeps asking with the same uuids, and a
    burst larger than its socket's high-water mark is FILLED once each when ordergated comes up."""
    with World() as w:
        w.start_sim("--workers", "4")
        with socket.socket() as probe:  # a port that was free a moment ago
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        endpoint = "tcp://127.0.0.1:%d" % port
        client = og.Client(endpoint, deadline_ms=60000)
        orders = [og.Order("EURUSD", "BUY", 0.01) for _ in range(1500)]
        burst = []
        # The burst on its own thread; this one starts ordergated (see _die_with_parent).
        t = threading.Thread(target=lambda: burst.extend(client.submit_many(orders)), daemon=True)
        t.start()
        time.sleep(3)  # the PING and a first attempt go unanswered
        check(t.is_alive(), "submit_many returned with nothing listening")
        w.start_gateway("--durability", "async", listen=endpoint)
        t.join(90)
        check(len(burst) == 1500, "submit_many did not return")
        with client as c:
            kinds = collections.Counter(o.status + "/" + str(o.error_code) for o in burst)
            check(kinds == {"FILLED/None": 1500}, kinds)
            check(c.reconnects >= 1, "the client never replaced its socket")
            check(c.gateway is None, "PING answered with nothing listening: %r" % c.gateway)
            late = c.submit("EURUSD", "SELL", 0.01)  # the next call asks PING again
            check(late.filled and c.gateway and c.gateway.get("bridge") == "up", (late, c.gateway))
            burst.append(late)
            print("1500 orders FILLED, %d reconnects, at most %d attempts" %
                  (c.reconnects, max(o.attempts for o in burst)))
        ex = w.executions()
        check(len(ex) == 1501 and all(ex[o.uuid] == [o.ticket] for o in burst),
              "%d uuids executed" % len(ex))


def example_strategy():
    """The example strategy on the Python client runs against ordergated, and every order it
    sends executes exactly once."""
    with World() as w:
        w.start_sim("--latency", "uniform:1:5")
        w.start_gateway()
        out = subprocess.run(
            [sys.executable, os.path.join(SOURCE, "examples", "python_client_strategy.py"),
             "--endpoint", w.gw_endpoint, "--orders", "10"],
            capture_output=True, text=True, timeout=120)
        check(out.returncode == 0, "exit %d: %s" % (out.returncode, out.stderr))
        summary = json.loads(out.stdout.strip().splitlines()[-1])
        check(summary["opened"] == 10 and summary["closed"] == 10 and not summary["in_doubt"],
              summary)
        ex = w.executions()
        check(sorted(ex) == sorted(summary["uuids"]) and all(len(v) == 1 for v in ex.values()),
              "journal: %r, strategy: %r" % (dict(ex), summary))


def _metric(port, name):
    import urllib.request
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return -1.0


def curve_allowlist():
    """Over CURVE the Python client trades with a key from ordergatectl keygen and with one pyzmq
    made, and a pyzmq key the gateway does not know gets nothing and is counted"""
    import zmq.auth
    with World() as w:
        keys = os.path.join(w.dir, "keys")
        clients = os.path.join(w.dir, "clients")
        mine = os.path.join(w.dir, "mine")
        os.makedirs(clients)
        os.makedirs(mine)
        for name, where in (("gateway", keys), ("strategy-py", mine)):
            out = subprocess.run([os.path.join(BIN_DIR, "ordergatectl"), "keygen", name, where],
                                 capture_output=True, text=True, timeout=30)
            check(out.returncode == 0, out.stderr)
        shutil.copy(os.path.join(mine, "strategy-py.key"), clients)
        # pyzmq's own writer: the gateway reads its certificates too. pyzmq writes the metadata
        # into the secret file only, so the public one gets its name by hand, unquoted as pyzmq
        # writes values.
        made_pub, made_secret = zmq.auth.create_certificates(mine, "pyzmq-made",
                                                             metadata={"name": "pyzmq-made"})
        with open(made_pub) as f:
            text = f.read()
        check("\nmetadata\n" in text, text)
        with open(os.path.join(clients, "pyzmq-made.key"), "w") as f:
            f.write(text.replace("\nmetadata\n", "\nmetadata\n    name = pyzmq-made\n"))
        _, stranger_secret = zmq.auth.create_certificates(mine, "stranger",
                                                          metadata={"name": "stranger"})
        server_cert = os.path.join(keys, "gateway.key")
        server_key, _ = zmq.auth.load_certificate(server_cert)
        ours = dict(curve_server_key=server_cert,
                    curve_secret_cert=os.path.join(mine, "strategy-py.key_secret"))
        w.start_sim("--latency", "uniform:1:5")
        w.start_gateway("--curve-secret-cert", os.path.join(keys, "gateway.key_secret"),
                        "--curve-clients-dir", clients, client_kwargs=ours)
        with og.Client(w.gw_endpoint, **ours) as c:
            first = c.submit_many([og.Order("EURUSD", "BUY", 0.01) for _ in range(10)])
            check(all(o.filled for o in first), [o for o in first if not o.filled])
        with og.Client(w.gw_endpoint, curve_server_key=server_key.decode(),
                       curve_secret_cert=made_secret) as c:
            check(c.submit("EURUSD", "SELL", 0.02).filled, "the pyzmq-made key's order")
        with og.Client(w.gw_endpoint, request_timeout_ms=500, curve_server_key=server_key,
                       curve_secret_cert=stranger_secret) as c:
            try:
                c.ping(1000)
                raise Failed("an unknown key got a PING reply")
            except TimeoutError:
                pass
        for bad in (dict(curve_server_key=server_key),
                    dict(curve_server_key=server_key, curve_secret_cert=made_pub)):
            try:
                og.Client(w.gw_endpoint, **bad)
                raise Failed("accepted %r" % bad)
            except ValueError:
                pass
        name = 'ordergate_front_auth_refused_total{reason="unknown_key"}'
        end = time.monotonic() + 10
        while _metric(w.metrics_port, name) < 1 and time.monotonic() < end:
            time.sleep(0.05)
        check(_metric(w.metrics_port, name) >= 1, "unknown keys counted: %s" %
              _metric(w.metrics_port, name))
        check(sum(len(v) for v in w.executions().values()) == 11, "executions")


def curve_identities():
    """Over CURVE two plain pyzmq REQ clients with keys of their own send the same uuid: each
    executes once and replays its own ticket, and neither can read the other's order by uuid"""
    import zmq.auth
    with World() as w:
        keys = os.path.join(w.dir, "keys")
        clients = os.path.join(w.dir, "clients")
        os.makedirs(clients)
        for name in ("gateway", "alpha", "beta"):
            out = subprocess.run([os.path.join(BIN_DIR, "ordergatectl"), "keygen", name, keys],
                                 capture_output=True, text=True, timeout=30)
            check(out.returncode == 0, out.stderr)
        for name in ("alpha", "beta"):
            shutil.copy(os.path.join(keys, name + ".key"), clients)
        server_key, _ = zmq.auth.load_certificate(os.path.join(keys, "gateway.key"))
        ours = dict(curve_server_key=os.path.join(keys, "gateway.key"),
                    curve_secret_cert=os.path.join(keys, "alpha.key_secret"))
        w.start_sim("--latency", "uniform:1:5")
        w.start_gateway("--curve-secret-cert", os.path.join(keys, "gateway.key_secret"),
                        "--curve-clients-dir", clients, client_kwargs=ours)
        ctx = zmq.Context.instance()

        def req(name):
            public, secret = zmq.auth.load_certificate(os.path.join(keys, name + ".key_secret"))
            s = ctx.socket(zmq.REQ)
            s.curve_serverkey = server_key
            s.curve_publickey = public
            s.curve_secretkey = secret
            s.linger = 0
            s.rcvtimeo = 5000
            s.connect(w.gw_endpoint)
            return s

        def call(sock, body):
            sock.send_string(json.dumps(body))
            return json.loads(sock.recv_string())

        alpha, beta = req("alpha"), req("beta")
        order = {"action": "OPEN", "uuid": "same-uuid-1", "symbol": "EURUSD", "type": "BUY",
                 "volume": 0.1}
        a = call(alpha, order)
        b = call(beta, order)
        check(a["status"] == "FILLED" and b["status"] == "FILLED", (a, b))
        check(a["uuid"] == "same-uuid-1" and b["uuid"] == "same-uuid-1", (a, b))
        check(not b["duplicate"], "beta's order is its own, not alpha's replayed: %r" % b)
        check(a["ticket"] != b["ticket"], (a, b))
        for _ in range(2):
            ra, rb = call(alpha, order), call(beta, order)
            check(ra["duplicate"] and ra["ticket"] == a["ticket"], ra)
            check(rb["duplicate"] and rb["ticket"] == b["ticket"], rb)
        only_alpha = {"action": "OPEN", "uuid": "alpha-only-1", "symbol": "EURUSD",
                      "type": "SELL", "volume": 0.2}
        check(call(alpha, only_alpha)["status"] == "FILLED", "alpha's second order")
        asked = call(beta, {"action": "ORDER_STATUS", "uuid": "alpha-only-1"})
        check(asked.get("error_code") == "NOT_FOUND", "beta reads alpha's order: %r" % asked)
        mine = call(alpha, {"action": "ORDER_STATUS", "uuid": "alpha-only-1"})
        check(mine.get("status") == "FILLED", mine)
        alpha.close()
        beta.close()
        execs = w.executions()
        check("same-uuid-1" not in execs, "the bridge saw a client's uuid: %r" % dict(execs))
        check(sorted(len(v) for v in execs.values()) == [1, 1, 1], dict(execs))


CASES = [fills_and_replays, pending_then_final, unknown_then_status, kill9_mid_burst,
         gateway_starts_late, example_strategy, curve_allowlist, curve_identities]


def main():
    global BIN_DIR
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir")
    parser.add_argument("case", nargs="?")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        for case in CASES:
            print(case.__name__)
        return 0
    BIN_DIR = args.bin_dir
    by_name = {c.__name__: c for c in CASES}
    if args.case not in by_name:
        parser.error("CASE is one of: " + ", ".join(by_name))
    try:
        by_name[args.case]()
    except Failed as e:
        print("FAILED: %s\n  %s" % (" ".join(by_name[args.case].__doc__.split()), e),
              file=sys.stderr)
        return 1
    print("passed: " + " ".join(by_name[args.case].__doc__.split()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
