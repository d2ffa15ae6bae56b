#!/usr/bin/python3
"""The alert path end to end, with real parts (issue 11): Debian's prometheus and
prometheus-alertmanager on loopback scrape a real ordergated (its bridge a real
ordergate-bridge-sim) with the shipped rules (deploy/ordergate.rules.yml, unchanged); the bridge is
killed, and a webhook receiver here must get OrdergateBridgeDown; the bridge is started again on
the same port, and the receiver must get it resolved. Prints the delay from the fault to the
notification (the seed's "alert delay < 1 minute") and from the return to the resolution.

Before the fault it also checks, against that Prometheus: every rule evaluates without error, every
metric a rule or the Grafana dashboard names is scraped from the real gateway (but
KNOWN_NOT_EXPORTED), and every dashboard query is answered.

Test-only timing: scrape and evaluation every 1 s and Alertmanager's group_wait 1 s (production:
10 s and 5 s, deploy/); the rule's own `for: 20s` is the shipped one. So the measured delay is the
rule's `for` plus the link's detection plus about 3 s; with deploy/'s intervals add up to ~25 s.

With --deploy-intervals it uses deploy/'s 10 s scrape and evaluation and 5 s group_wait instead
(about 80 s): the delay an installation from deploy/ sees.

Usage: alert_path.py BIN_DIR SOURCE_DIR [--deploy-intervals]. Exit 0: passed; 1: failed; 77: skipped (the packages are
not installed and cannot be). Ports: the kernel's (bind to 0); every process is killed at the end;
every wait is bounded; about 40 s in all.
"""

import http.server
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
import urllib.parse
import urllib.request

PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
# Metrics the rules name that ordergated does not serve yet (see the report of issue 11): the
# duplicate-send counter is counted by the loop for the windows but not exported.
KNOWN_NOT_EXPORTED = set()
ALERT = "OrdergateBridgeDown"

procs = []


def log(msg):
    print(f"alert_path: {msg}", flush=True)


def fail(msg):
    log(f"FAIL: {msg}")
    raise SystemExit(1)


def free_port():
    """A port the kernel picked for 127.0.0.1 (closed again for the server that will bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args, out_path, err_path):
    p = subprocess.Popen(args, stdout=open(out_path, "w"), stderr=open(err_path, "w"),
                         start_new_session=True)
    procs.append(p)
    return p


def stop_all():
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def wait_for(what, predicate, timeout_s, interval_s=0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    fail(f"timed out after {timeout_s} s waiting for {what}")


def line_in(path, pattern):
    try:
        with open(path) as f:
            for line in f:
                m = re.search(pattern, line)
                if m:
                    return m
    except FileNotFoundError:
        pass
    return None


def http_json(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


class Receiver(http.server.BaseHTTPRequestHandler):
    """Alertmanager's webhook: each POST's alerts, with the time it arrived."""
    received = []  # (monotonic time, status, alertname, labels)
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        now = time.monotonic()
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {"alerts": []}
        with Receiver.lock:
            for a in payload.get("alerts", []):
                Receiver.received.append((now, a.get("status"), a["labels"].get("alertname"),
                                          a["labels"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def notified(status, since):
    with Receiver.lock:
        for t, s, name, labels in Receiver.received:
            if t >= since and s == status and name == ALERT:
                return (t, labels)
    return None


def metric_names(expr):
    return set(re.findall(r"\b((?:ordergate|process)_[a-z_]+)", expr))


def main():
    if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and sys.argv[3] != "--deploy-intervals"):
        print(__doc__)
        return 2
    bin_dir, source_dir = sys.argv[1], sys.argv[2]
    deploy_intervals = len(sys.argv) == 4
    interval_s = 10 if deploy_intervals else 1
    group_wait = "5s" if deploy_intervals else "1s"
    scrape_timeout = "5s" if deploy_intervals else "900ms"
    missing = [p for p in (PROMETHEUS, ALERTMANAGER) if not os.access(p, os.X_OK)]
    if missing:
        print(f"SKIP: {' and '.join(missing)} not installed (Debian packages prometheus and "
              "prometheus-alertmanager: scripts/install-deps.sh installs them)", flush=True)
        return 77
    rules = os.path.join(source_dir, "deploy", "ordergate.rules.yml")
    dashboard = os.path.join(source_dir, "deploy", "grafana", "ordergate-dashboard.json")
    tmp = tempfile.mkdtemp(prefix="og-alert-path-")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ok = False
    try:
        # The bridge, then the gateway linked to it.
        sim_args = [os.path.join(bin_dir, "ordergate-bridge-sim"), "--bind", "tcp://127.0.0.1:*"]
        start(sim_args, f"{tmp}/sim.out", f"{tmp}/sim.err")
        m = wait_for("the simulator's listening line",
                     lambda: line_in(f"{tmp}/sim.out", r"listening on (tcp://127\.0\.0\.1:\d+)"), 10)
        bridge = m.group(1)
        start([os.path.join(bin_dir, "ordergated"), "--data-dir", f"{tmp}/data", "--listen",
               "tcp://127.0.0.1:*", "--bridge", bridge, "--metrics-listen", "127.0.0.1:0"],
              f"{tmp}/gw.out", f"{tmp}/gw.err")
        m = wait_for("ordergated's ready line",
                     lambda: line_in(f"{tmp}/gw.out", r"metrics_port=(\d+).*bridge=(up|down)"), 15)
        metrics_port = int(m.group(1))

        am_port, prom_port = free_port(), free_port()
        with open(f"{tmp}/alertmanager.yml", "w") as f:
            f.write(f"""route:
  receiver: test
  group_by: [alertname, instance]
  group_wait: {group_wait}
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: "http://127.0.0.1:{server.server_address[1]}/"
        send_resolved: true
""")
        with open(f"{tmp}/prometheus.yml", "w") as f:
            f.write(f"""global:
  scrape_interval: {interval_s}s
  evaluation_interval: {interval_s}s
  scrape_timeout: {scrape_timeout}
rule_files:
  - {rules}
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{am_port}"]
scrape_configs:
  - job_name: ordergate
    static_configs:
      - targets: ["127.0.0.1:{metrics_port}"]
""")
        start([ALERTMANAGER, f"--config.file={tmp}/alertmanager.yml",
               f"--storage.path={tmp}/am", f"--web.listen-address=127.0.0.1:{am_port}",
               "--cluster.listen-address="], f"{tmp}/am.out", f"{tmp}/am.err")
        start([PROMETHEUS, f"--config.file={tmp}/prometheus.yml",
               f"--storage.tsdb.path={tmp}/prom", f"--web.listen-address=127.0.0.1:{prom_port}"],
              f"{tmp}/prom.out", f"{tmp}/prom.err")
        prom = f"http://127.0.0.1:{prom_port}"

        def query(expr):
            return http_json(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))

        def scalar(expr):
            r = query(expr)
            if not r or r.get("status") != "success" or not r["data"]["result"]:
                return None
            return float(r["data"]["result"][0]["value"][1])

        wait_for("Alertmanager ready", lambda: http_ok(f"http://127.0.0.1:{am_port}/-/ready"), 20)
        wait_for("Prometheus ready", lambda: http_ok(f"{prom}/-/ready"), 20)
        wait_for("the gateway scraped with its bridge up",
                 lambda: scalar('ordergate_bridge_up{job="ordergate"}') == 1, 20 + 2 * interval_s)
        # Two scrapes at least, so that rates over the dashboard's ranges have points.
        wait_for("three scrapes", lambda: (scalar('count_over_time(up{job="ordergate"}[1m])') or 0)
                 >= 3, 10 + 3 * interval_s)

        # Every rule evaluates without error; every metric it names is served.
        groups = http_json(f"{prom}/api/v1/rules")["data"]["groups"]
        rule_list = [r for g in groups for r in g["rules"]]
        if len(rule_list) < 8:
            fail(f"Prometheus loaded {len(rule_list)} rules from {rules}")
        wait_for("every rule evaluated once",
                 lambda: all(r.get("lastEvaluation", "").startswith("2") and
                             not r["lastEvaluation"].startswith("0001")
                             for g in http_json(f"{prom}/api/v1/rules")["data"]["groups"]
                             for r in g["rules"]), 10 + 2 * interval_s)
        for r in rule_list:
            if r.get("health") not in ("ok", "unknown"):
                fail(f"rule {r['name']} health {r.get('health')}: {r.get('lastError')}")
        names = set()
        for r in rule_list:
            names |= metric_names(r["query"])
        exprs = []
        with open(dashboard) as f:
            board = json.load(f)
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                exprs.append((panel["title"], target["expr"]))
                names |= metric_names(target["expr"])
        for name in sorted(names - KNOWN_NOT_EXPORTED):
            series = http_json(f"{prom}/api/v1/series?" +
                               urllib.parse.urlencode({"match[]": name}))
            if not series or not series["data"]:
                fail(f"{name} (named by a rule or the dashboard) is not in the gateway's /metrics")
        log(f"{len(rule_list)} rules healthy; {len(names)} metrics named by rules and dashboard, "
            f"all served but {sorted(KNOWN_NOT_EXPORTED & names)}")
        for title, expr in exprs:
            concrete = expr.replace("$__rate_interval", "1m").replace("$instance", ".*")
            r = query(concrete)
            if not r or r.get("status") != "success":
                fail(f"dashboard panel {title!r}: {concrete!r} -> {r}")
            if not r["data"]["result"] and not metric_names(expr) & KNOWN_NOT_EXPORTED:
                fail(f"dashboard panel {title!r}: {concrete!r} returned no series")
        log(f"{len(exprs)} dashboard queries answered")

        # The fault: the bridge process dies.
        sim = procs[0]
        fault_at = time.monotonic()
        os.killpg(sim.pid, signal.SIGKILL)
        sim.wait(timeout=10)
        log("bridge killed")
        t, labels = wait_for(f"{ALERT} firing at the webhook",
                             lambda: notified("firing", fault_at), 75 + 3 * interval_s, 0.05)
        delay = t - fault_at
        if labels.get("severity") != "critical" or labels.get("job") != "ordergate":
            fail(f"unexpected labels {labels}")
        log(f"alert delay: {delay:.1f} s from the bridge's kill -9 to {ALERT} at the webhook "
            f"(scrape and evaluation every {interval_s} s, group_wait {group_wait})")
        if delay >= 60:
            fail(f"alert delay {delay:.1f} s is not under a minute")
        if scalar('ordergate_bridge_up{job="ordergate"}') != 0:
            fail("the alert fired but ordergate_bridge_up is not 0")

        # The bridge returns on the same endpoint: the alert resolves.
        back_at = time.monotonic()
        start([os.path.join(bin_dir, "ordergate-bridge-sim"), "--bind", bridge],
              f"{tmp}/sim2.out", f"{tmp}/sim2.err")
        t, _ = wait_for(f"{ALERT} resolved at the webhook",
                        lambda: notified("resolved", back_at), 30 + 3 * interval_s, 0.05)
        log(f"resolved {t - back_at:.1f} s after the bridge came back")
        ok = True
    finally:
        stop_all()
        server.shutdown()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            for name in ("gw.err", "sim.err", "prom.err", "am.err"):
                path = os.path.join(tmp, name)
                if os.path.exists(path):
                    with open(path) as f:
                        tail = f.readlines()[-8:]
                    log(f"--- {name} (last lines)\n" + "".join(tail))
            log(f"files kept in {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
