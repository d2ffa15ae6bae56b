#!/usr/bin/python3
"""A strategy written the way MT5-CRS's JSON v1 clients (src/client/json_trade_client.py) talk to its
json gateway, unchanged but its endpoint (docs/protocol.md section 2a).

Each trade is {"action":"ORDER_SEND","req_id":<uuid4>,"payload":{symbol, type OP_BUY|OP_SELL, volume,
magic, comment, sl, tp}} on a REQ socket, read back as {error, ticket, msg, retcode}. Client retries
are on: every request is sent again with the same req_id as if its reply had been lost (it must
replay the same ticket, never execute again), and on a receive timeout the REQ socket is rebuilt and
the same request resent. Then the error rows of the table: a req_id reused with other fields, a
volume out of range, a missing payload. Prints one JSON line; exits non-zero if a reply breaks the
envelope.

usage: mt5crs_json_strategy.py ENDPOINT COUNT
"""
import json
import sys
import time
import uuid

import zmq

ENVELOPE = {"error", "ticket", "msg", "retcode"}


def make_socket(ctx, endpoint):
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.RCVTIMEO, 5000)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    return s


def call(ctx, endpoint, sock, request, attempts=5):
    """send_json / recv_json as JsonTradeClient does; on a timeout, a new REQ and the same request."""
    for _ in range(attempts):
        sock.send_json(request)
        try:
            reply = sock.recv_json()
        except zmq.Again:
            sock.close()
            sock = make_socket(ctx, endpoint)
            continue
        if not ENVELOPE.issubset(reply) or not isinstance(reply["error"], bool) \
                or not isinstance(reply["ticket"], int) or not isinstance(reply["retcode"], int) \
                or not isinstance(reply["msg"], str):
            raise SystemExit("not a v1 reply: %r" % reply)
        return sock, reply
    raise SystemExit("no reply after %d attempts" % attempts)


def trade(ctx, endpoint, sock, req_id, symbol, order_type, volume, magic=123456,
          comment="MT5-CRS-AI", sl=0.0, tp=0.0):
    request = {"action": "ORDER_SEND", "req_id": req_id, "timestamp": time.time(),
               "payload": {"symbol": symbol, "type": order_type, "volume": float(volume),
                           "magic": int(magic), "comment": comment, "sl": float(sl),
                           "tp": float(tp)}}
    sock, reply = call(ctx, endpoint, sock, request)
    while reply["retcode"] == -1 and "PENDING" in reply["msg"]:  # in flight: ask again, same req_id
        time.sleep(0.05)
        sock, reply = call(ctx, endpoint, sock, request)
    return sock, request, reply


def main():
    endpoint, count = sys.argv[1], int(sys.argv[2])
    ctx = zmq.Context()
    sock = make_socket(ctx, endpoint)
    seen = {"filled": 0, "retried_same_ticket": 0, "req_ids": []}
    for i in range(count):
        req_id = str(uuid.uuid4())
        order_type = "OP_BUY" if i % 2 == 0 else "OP_SELL"
        sock, request, reply = trade(ctx, endpoint, sock, req_id, "EURUSD", order_type, 0.01,
                                     sl=1.045 if i % 2 == 0 else 0.0)
        if reply["error"] or reply["retcode"] != 10009 or reply["ticket"] <= 0:
            raise SystemExit("ORDER_SEND %s: %r" % (req_id, reply))
        seen["filled"] += 1
        seen["req_ids"].append(req_id)
        # The retry after a lost reply: the same request, the same req_id.
        sock, again = call(ctx, endpoint, sock, request)
        if again["error"] or again["ticket"] != reply["ticket"] or again.get("duplicate") is not True:
            raise SystemExit("retry of %s: %r" % (req_id, again))
        seen["retried_same_ticket"] += 1
    # The table's error rows.
    first = seen["req_ids"][0]
    sock, _, conflict = trade(ctx, endpoint, sock, first, "EURUSD", "OP_BUY", 0.02)
    seen["conflict_error"] = conflict["error"]
    seen["conflict_ticket"] = conflict["ticket"]
    seen["conflict_retcode"] = conflict["retcode"]
    seen["conflict_msg_names_code"] = "IDEMPOTENCY_CONFLICT" in conflict["msg"]
    sock, _, volume = trade(ctx, endpoint, sock, str(uuid.uuid4()), "EURUSD", "OP_BUY", 250)
    seen["volume_error"] = volume["error"]
    seen["volume_retcode"] = volume["retcode"]
    sock, missing = call(ctx, endpoint, sock, {"action": "ORDER_SEND", "req_id": str(uuid.uuid4())})
    seen["missing_payload_error"] = missing["error"]
    seen["missing_payload_retcode"] = missing["retcode"]
    sock.close()
    ctx.term()
    seen["req_ids"] = ",".join(seen["req_ids"])
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
