#!/usr/bin/python3
"""An example strategy on ordergate_client: opens positions on a toy signal, then closes them.

What it shows:
- submit() returns the order's outcome: PENDING is asked again by the client, under the same uuid;
- an outcome in doubt (UNKNOWN, or PENDING/NO_REPLY at the deadline) is never sent again under a
  new uuid: the strategy asks status(uuid) until the gateway has settled it;
- CLOSE through close_position(ticket), with its own uuid.
It prints one JSON line with what happened; exit 0 when every order it sent has a settled outcome.

usage: python_client_strategy.py [--endpoint tcp://127.0.0.1:5555] [--orders 10] [--symbol EURUSD]
Run from the source tree, or with PYTHONPATH=<prefix>/share/ordergate/python once installed.
"""
import argparse
import json
import os
import sys

# The module sits next to this file once installed (<prefix>/share/ordergate/python/), and in
# clients/python/ in the source tree.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_here, "..", "clients", "python"))
sys.path.insert(0, _here)
import ordergate_client as og  # noqa: E402


def signal_side(i: int) -> str:
    """A toy signal: alternate BUY and SELL."""
    return "BUY" if i % 2 == 0 else "SELL"


def settle(client: og.Client, outcome: og.Outcome) -> og.Outcome:
    """An outcome in doubt is followed by its uuid (never a new one) until FILLED or REJECTED."""
    if outcome.in_doubt:
        return client.wait_settled(outcome.uuid, deadline_ms=30000)
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5555")
    parser.add_argument("--orders", type=int, default=10)
    parser.add_argument("--symbol", default="EURUSD")
    args = parser.parse_args()

    # uuids: every order executed (opens and closes), for whoever checks the bridge's journal.
    summary = {"opened": 0, "closed": 0, "rejected": 0, "in_doubt": [], "tickets": [],
               "uuids": []}
    with og.Client(args.endpoint) as client:
        pong = client.ping()  # fails fast (TimeoutError) if nothing answers
        print("gateway %s, bridge %s, client_timeout_ms %s" %
              (pong["gateway"]["version"], pong["gateway"]["bridge"],
               pong["gateway"]["client_timeout_ms"]), file=sys.stderr)
        for i in range(args.orders):
            outcome = settle(client, client.submit(args.symbol, signal_side(i), 0.01,
                                                   comment="example", magic=20261204))
            if outcome.filled:
                summary["opened"] += 1
                summary["tickets"].append(outcome.ticket)
                summary["uuids"].append(outcome.uuid)
            elif outcome.status == og.REJECTED:
                # A refusal: a new order would get a new uuid (submit generates one).
                summary["rejected"] += 1
                print("rejected: %s %s" % (outcome.error_code, outcome.raw.get("error_msg")),
                      file=sys.stderr)
            else:
                summary["in_doubt"].append(outcome.uuid)
        for ticket in summary["tickets"]:
            closed = settle(client, client.close_position(ticket))
            if closed.filled:
                summary["closed"] += 1
                summary["uuids"].append(closed.uuid)
            elif closed.in_doubt:
                summary["in_doubt"].append(closed.uuid)
        summary["in_doubt"] += [u for u in client.in_doubt() if u not in summary["in_doubt"]]
    print(json.dumps(summary))
    return 0 if not summary["in_doubt"] else 1


if __name__ == "__main__":
    sys.exit(main())
