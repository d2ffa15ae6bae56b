#!/usr/bin/env bash
# ctest: "bench: the README's Running-it commands, run as written, account for every order".
# Reads the first ```sh block of README.md's "## Running it" section (so the README and this test
# cannot drift), swaps only what must differ on a shared machine: `build/bin/` for BIN_DIR, the
# fixed ports 5555/5556/9464 for free loopback ports, /tmp/ paths for a temp dir, and a shorter
# --duration-s/--warmup-s. Every other character runs as written, one command after another in one
# bash, from a fresh temp dir as the working directory (r.json and r.png land there). Checks:
#   - every substitution applied (a README change that dodges one fails here, not silently);
#   - ordergate-bench exited 0, its report leads with "result ordergate  N% FILLED: ...";
#   - r.json accounts for every order, for both runs: orders = FILLED + refused (by code) +
#     UNKNOWN + without a final reply, the codes sum to the refused, measured + warm-up = sent;
#   - the journal agrees: under ordergate no uuid executed twice, and every FILLED order executed;
#   - the recipe's last command stopped the gateway cleanly.
# Usage: tests/bench/readme_recipe.sh BIN_DIR
set -euo pipefail
BIN=$(cd "${1:?usage: readme_recipe.sh BIN_DIR}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/ordergate-readme.XXXXXX)
DRIVER_PID=""
cleanup() {
  # The recipe's processes run in the driver's own process group (setsid): end that group only.
  if [ -n "$DRIVER_PID" ]; then
    kill -TERM -- "-$DRIVER_PID" 2>/dev/null || true
    wait "$DRIVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
  echo "readme_recipe: FAILED: $*" >&2
  [ -f "$WORK/driver.sh" ] && { echo "--- the commands run" >&2; cat "$WORK/driver.sh" >&2; }
  [ -f "$WORK/out.txt" ] && { echo "--- their output" >&2; tail -60 "$WORK/out.txt" >&2; }
  exit 1
}

# The commands, substituted, one per line (continuations joined), and the driver that runs them.
"$PY" - "$ROOT/README.md" "$BIN" "$WORK" >"$WORK/driver.sh" <<'PY' || fail "cannot read the recipe"
import re, socket, sys
readme, bin_dir, work = sys.argv[1:4]
text = open(readme).read()
m = re.search(r"^## Running it\n(.*?)(?=^## )", text, re.S | re.M)
assert m, "README.md has no '## Running it' section"
block = re.search(r"```sh\n(.*?)```", m.group(1), re.S)
assert block, "the 'Running it' section has no ```sh block"
commands = [c.strip() for c in block.group(1).replace("\\\n", " ").split("\n") if c.strip()]
commands = [re.sub(r"\s+", " ", c) for c in commands]

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port

swaps = [("build/bin/", bin_dir + "/"), ("/tmp/", work + "/"),
         ("--duration-s 10", "--duration-s 2"), ("--warmup-s 2", "--warmup-s 0.5")]
swaps += [("127.0.0.1:%d" % p, "127.0.0.1:%d" % free_port()) for p in (5555, 5556, 9464)]
script = "\n".join(commands)
for old, new in swaps:
    if old not in script:
        sys.exit("the recipe no longer contains %r: update this test's substitutions" % old)
# One pass over the text: a replacement is never swapped again (a build directory under /tmp/
# would otherwise have its /tmp/ moved into the work directory).
table = dict(swaps)
script = re.sub("|".join(re.escape(old) for old, _ in swaps), lambda m: table[m.group(0)], script)
# The driver: each command as written, its exit status recorded after it; then the stopped
# processes are waited for.
print("cd %s" % work)
for i, c in enumerate(script.split("\n"), 1):
    print(c)
    print('echo "readme-recipe: command %d exited $?" >>%s/status.txt' % (i, work))
print("wait")
PY

# A fresh bash in its own session: its background jobs (the simulator, ordergated) are in the
# driver's process group, which cleanup() ends whatever happened. 45 s bound: the run takes ~8 s.
setsid bash "$WORK/driver.sh" >"$WORK/out.txt" 2>&1 &
DRIVER_PID=$!
for _ in $(seq 1 450); do
  kill -0 "$DRIVER_PID" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$DRIVER_PID" 2>/dev/null && fail "the recipe did not finish within 45 s"
wait "$DRIVER_PID" || fail "the driver exited $?"
DRIVER_PID=""
cat "$WORK/out.txt"

BENCH_LINE=$(grep -n 'ordergate-bench' "$WORK/driver.sh" | head -1 | cut -d: -f1)
[ -n "$BENCH_LINE" ] || fail "the recipe has no ordergate-bench command"
BENCH_NO=$(( (BENCH_LINE - 2) / 2 + 1 ))  # driver: line 1 cd, then command/status pairs
grep -q "^readme-recipe: command $BENCH_NO exited 0$" "$WORK/status.txt" ||
  fail "ordergate-bench did not exit 0: $(cat "$WORK/status.txt")"
grep -Eq '^  result ordergate +[0-9.]+% FILLED: [0-9]+ of [0-9]+ orders; refused [0-9]+' \
  "$WORK/out.txt" || fail "the report does not lead with the orders' fates"
grep -q 'ordergated stopped cleanly' "$WORK/out.txt" ||
  fail "the recipe's last command did not stop ordergated cleanly"
[ -s "$WORK/r.json" ] || fail "no r.json in the working directory"

"$PY" - "$WORK/r.json" "$(ls "$WORK"/*.jsonl)" <<'PY' || fail "the report does not account for every order"
import json, sys
r = json.load(open(sys.argv[1]))
for side in ("ordergate", "baseline"):
    s = r[side]
    for key in ("fates", "fates_all"):
        f = s[key]
        by_code = sum(f["refused_by_code"].values())
        assert by_code == f["refused"], (side, key, f)
        total = f["FILLED"] + f["refused"] + f["UNKNOWN"] + f["without_final_outcome"]
        assert total == f["orders"], "%s %s: %d orders, but %d accounted for: %s" % (
            side, key, f["orders"], total, f)
    assert s["fates"]["orders"] == s["measured_orders"], s
    assert s["fates_all"]["orders"] == s["orders"], s
    assert s["latency_us"]["count"] == s["fates"]["FILLED"], "latency is of FILLED orders only"
    assert s["fates"]["orders"] > 0, "%s measured no order" % side
g = r["ordergate"]
assert r["exit_code"] == 0 and r["ok"] is True, (r["exit_code"], r["problems"], r["warnings"])
assert g["orders_without_final_outcome"] == 0, g["fates_all"]
assert g["duplicate_executions"] == 0, "ordergate executed %d orders twice" % g["duplicate_executions"]
fa = g["fates_all"]
# Every FILLED order executed once; anything else executed only if its outcome was not known.
assert fa["FILLED"] <= g["executed_uuids"] <= fa["FILLED"] + fa["UNKNOWN"] + fa["without_final_outcome"], (
    g["executed_uuids"], fa)
assert r["headline"].endswith("no final reply 0"), r["headline"]
print("readme_recipe: ok: ordergate %s; baseline %s" % (r["headline"], json.dumps(r["baseline"]["fates"])))
PY
