#!/usr/bin/python3
"""A strategy written the way MT5-CRS strategies talk to the MT5 bridge, unchanged but its endpoint.

It uses only what docs/protocol.md section 1 says about the bridge: a REQ socket with the 2000 ms
receive timeout MT5-CRS clients use, OPEN with a uuid, and on a timeout the MT5-CRS habit of
rebuilding the REQ socket and sending the SAME uuid again. Against ordergate that retry must never
execute twice. Prints one JSON line with what it saw; exits non-zero if a reply breaks the contract.

usage: mt5crs_strategy.py ENDPOINT UUID_PREFIX COUNT
"""
import json
import sys
import time
import uuid as uuidlib

import zmq


def make_socket(ctx, endpoint):
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.RCVTIMEO, 2000)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    return s


def call(ctx, endpoint, sock, request, attempts=5):
    """Sends request; on timeout rebuilds the socket and resends it unchanged (same uuid)."""
    for _ in range(attempts):
        sock.send_string(json.dumps(request))
        try:
            return sock, json.loads(sock.recv_string())
        except zmq.Again:
            sock.close()
            sock = make_socket(ctx, endpoint)
    raise SystemExit("no reply after %d attempts" % attempts)


def main():
    endpoint, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ctx = zmq.Context()
    sock = make_socket(ctx, endpoint)
    seen = {"filled": 0, "tickets": {}, "resent_same_ticket": 0}
    sock, pong = call(ctx, endpoint, sock, {"action": "PING", "uuid": str(uuidlib.uuid4()),
                                             "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S")})
    if pong.get("status") != "ok":
        raise SystemExit("PING: %r" % pong)
    for i in range(count):
        order = {"action": "OPEN", "uuid": "%s-%d" % (prefix, i), "symbol": "EURUSD",
                 "type": "BUY", "volume": 0.01, "magic": 20261125, "comment": "mt5crs"}
        sock, reply = call(ctx, endpoint, sock, order)
        while reply.get("status") == "PENDING":  # ordergate's answer before the REQ timeout
            time.sleep(0.05)
            sock, reply = call(ctx, endpoint, sock, order)
        if reply.get("status") != "FILLED" or not isinstance(reply.get("ticket"), int) \
                or reply["ticket"] <= 0 or reply.get("uuid") != order["uuid"]:
            raise SystemExit("OPEN %s: %r" % (order["uuid"], reply))
        seen["filled"] += 1
        seen["tickets"][order["uuid"]] = reply["ticket"]
        # The strategy's retry after a lost reply: same uuid, same fields.
        sock, again = call(ctx, endpoint, sock, order)
        if again.get("status") != "FILLED" or again.get("ticket") != reply["ticket"] \
                or again.get("duplicate") is not True:
            raise SystemExit("resend %s: %r" % (order["uuid"], again))
        seen["resent_same_ticket"] += 1
    sock, account = call(ctx, endpoint, sock, {"action": "GET_ACCOUNT", "uuid": str(uuidlib.uuid4())})
    if account.get("status") != "ok" or "balance" not in account:
        raise SystemExit("GET_ACCOUNT: %r" % account)
    sock.close()
    ctx.term()
    print(json.dumps({"filled": seen["filled"], "resent_same_ticket": seen["resent_same_ticket"]}))


if __name__ == "__main__":
    main()
