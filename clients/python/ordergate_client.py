"""ordergate_client: a Python client for ordergated that makes the safe retry the easy one.

One module, needing only Debian's python3-zmq (pyzmq) and the standard library. It speaks the
front-end protocol of ordergate (docs/protocol.md, sections 2 and 3) over one ZeroMQ DEALER:

- every order has a uuid, the idempotency key: generated here (uuid4, from the operating system's
  random source, os.urandom) or given by the caller;
- ``submit`` returns the order's outcome, not the gateway's first answer: on PENDING (the reply
  deadline came first, the order is still in flight) it asks again with the SAME uuid, by itself,
  until a final outcome or the caller's deadline;
- it never sends a new uuid for an order on its own. An order whose outcome is in doubt (UNKNOWN:
  the bridge did not answer and may have executed it; PENDING or NO_REPLY at the caller's
  deadline) keeps its uuid: ``status(uuid)`` asks ORDER_STATUS, ``submit(..., uuid=outcome.uuid)``
  asks again, ``in_doubt()`` lists them all;
- its waits are aligned with the gateway's deadline: it reads ``client_timeout_ms`` (and
  ``bridge_timeout_ms``) from PING, sends each order with that ``timeout_ms`` and waits for the
  reply that long plus a grace of max(100 ms, timeout_ms / 10): the gateway answers (the outcome
  or PENDING) by timeout_ms - reply_margin_ms, so its answer always comes before the client gives
  up on it (the same rule as the C++ ordergate::Client);
- when a reply does not come in that time (ordergated killed, restarted, network gone) it drops the
  socket, opens a new one to the same endpoint and asks again for everything in flight, with the
  same uuids: an order executes at most once whatever happens to the link.

Thread safety: a Client is NOT thread-safe (a ZeroMQ socket belongs to one thread, and each call
runs its own event loop on it). Use one Client per thread; they may share one zmq.Context, which is
thread-safe. Many orders in flight at once from one thread: ``submit_many``.

Example::

    from ordergate_client import Client, Order
    with Client("tcp://127.0.0.1:5555") as client:
        outcome = client.submit("EURUSD", "BUY", 0.01)
        if outcome.filled:
            print(outcome.ticket)
        elif outcome.in_doubt:            # UNKNOWN / PENDING / NO_REPLY: never a new uuid
            later = client.status(outcome.uuid)
"""

from __future__ import annotations

import collections
import dataclasses
import heapq
import itertools
import json
import re
import time
import uuid as _uuidlib
from typing import Any, Dict, Iterable, List, Optional

import zmq

__all__ = ["Client", "Order", "Outcome", "FILLED", "REJECTED", "PENDING", "UNKNOWN", "ERROR",
           "NO_REPLY", "NOT_NOW_CODES", "new_uuid"]

# Statuses of an outcome: the gateway's (docs/protocol.md section 2); NO_REPLY is the client's own.
FILLED = "FILLED"      # executed; ticket set
REJECTED = "REJECTED"  # refused by the bridge (recorded) or by ordergate (error_code says which)
PENDING = "PENDING"    # still in flight at the gateway when the caller's deadline came
UNKNOWN = "UNKNOWN"    # the bridge did not answer in time: it may have executed (BRIDGE_TIMEOUT)
ERROR = "error"        # the request was bad or ordergate could not serve it; nothing sent
NO_REPLY = "NO_REPLY"  # no reply at all before the caller's deadline (gateway unreachable)

# Refusals that record nothing and send nothing: the same uuid may be sent again. submit() retries
# them (with a short backoff) until its deadline when retry_not_now is on.
NOT_NOW_CODES = frozenset({"GATEWAY_BUSY", "BRIDGE_DOWN", "STORE_UNAVAILABLE"})

# What the protocol says when PING cannot be asked (section 3 defaults).
DEFAULT_CLIENT_TIMEOUT_MS = 2000
DEFAULT_BRIDGE_TIMEOUT_MS = 6000

_UUID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}\Z")
_BACKOFF_FIRST_S = 0.02
_BACKOFF_MAX_S = 0.5


@dataclasses.dataclass(frozen=True)
class Order:
    """One OPEN (or, with action="CLOSE" and ticket, one CLOSE). uuid None: generated on submit."""
    symbol: str = ""
    type: str = ""
    volume: float = 0.0
    price: Optional[float] = None
    sl: Optional[float] = None
    tp: Optional[float] = None
    comment: Optional[str] = None
    magic: Optional[int] = None
    uuid: Optional[str] = None
    action: str = "OPEN"
    ticket: Optional[int] = None

    def body(self, uuid: str) -> Dict[str, Any]:
        """The request's JSON object (without timeout_ms), fields left out when None."""
        out: Dict[str, Any] = {"action": self.action, "uuid": uuid}
        if self.action == "CLOSE":
            out["ticket"] = self.ticket
            return out
        out.update(symbol=self.symbol, type=self.type, volume=self.volume)
        for key in ("price", "sl", "tp", "comment", "magic"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one request.

    status: FILLED, REJECTED, PENDING, UNKNOWN, ERROR ("error") or NO_REPLY (see the constants).
    error_code: the reply's error_code (BRIDGE_TIMEOUT, GATEWAY_BUSY, NOT_FOUND, ...) or None.
    ticket: the ticket of a FILLED order, else None.
    duplicate: the reply is the outcome of an earlier submission of the same uuid.
    raw: the gateway's reply as a dict (None for NO_REPLY).
    attempts: how many times the request was sent (re-asks after PENDING, resends after a
        reconnect, retries of a refusal that recorded nothing).
    """
    uuid: str
    status: str
    error_code: Optional[str] = None
    ticket: Optional[int] = None
    duplicate: bool = False
    raw: Optional[Dict[str, Any]] = None
    attempts: int = 0

    @property
    def filled(self) -> bool:
        return self.status == FILLED

    @property
    def in_doubt(self) -> bool:
        """The order may have executed or may still: ask again with this uuid, never a new one."""
        return self.status in (PENDING, UNKNOWN, NO_REPLY)

    @property
    def final(self) -> bool:
        """FILLED, REJECTED or error: this uuid's fate is settled for this request."""
        return self.status in (FILLED, REJECTED, ERROR)

    @staticmethod
    def from_reply(uuid: str, reply: Dict[str, Any], attempts: int) -> "Outcome":
        ticket = reply.get("ticket")
        return Outcome(uuid=uuid, status=str(reply.get("status")),
                       error_code=reply.get("error_code"),
                       ticket=ticket if isinstance(ticket, int) and ticket > 0 else None,
                       duplicate=reply.get("duplicate") is True, raw=reply, attempts=attempts)


class _Request:
    """One uuid's request inside a call: what to send, how often it was, what came back."""
    __slots__ = ("uuid", "body", "sent_at", "attempts", "last", "backoff_s")

    def __init__(self, uuid: str, body: str):
        self.uuid = uuid
        self.body = body.encode()  # the JSON object, without timeout_ms
        self.sent_at = 0.0  # monotonic time of the latest send
        self.attempts = 0
        self.last: Optional[Dict[str, Any]] = None
        self.backoff_s = _BACKOFF_FIRST_S  # the next wait after a not-now refusal


def _load_curve(server_key: Optional[Any], secret_cert: Optional[str]):
    """(server public key, client public key, client secret key) as Z85 bytes, or None."""
    if server_key is None and secret_cert is None:
        return None
    if server_key is None or secret_cert is None:
        raise ValueError("curve_server_key and curve_secret_cert go together: give both or neither")
    import zmq.auth  # only CURVE users need it
    public_key, secret_key = zmq.auth.load_certificate(secret_cert)
    if not public_key or not secret_key:
        raise ValueError("curve_secret_cert %s holds no secret-key: give NAME.key_secret, not the "
                         "public NAME.key" % secret_cert)
    key = server_key.encode() if isinstance(server_key, str) else bytes(server_key)
    if len(key) != 40:  # not Z85 text: the gateway's public certificate
        key, _ = zmq.auth.load_certificate(server_key)
        if not key or len(key) != 40:
            raise ValueError("curve_server_key %r is neither 40 characters of Z85 nor a "
                             "certificate with a public-key" % (server_key,))
    return key, public_key, secret_key


class Client:
    """A DEALER connection to one ordergated front end. Not thread-safe: one Client per thread.

    endpoint: where ordergated listens, e.g. "tcp://127.0.0.1:5555".
    request_timeout_ms: the attempt timeout T, sent as each order's timeout_ms. None: the
        gateway's client_timeout_ms read from PING (2000 if PING cannot be asked). ordergated
        answers by T - reply_margin_ms with the outcome or PENDING; the client waits T + a grace
        of max(100 ms, T / 10) for that reply, so PENDING always reaches it before it gives up on
        the attempt; past that wait the link counts as broken: a new socket, the same uuid again.
        Near the deadline the attempt is shortened to fit (the same rule as ordergate::Client).
    deadline_ms: the default deadline of submit/submit_many. None: bridge_timeout_ms + 2 * T +
        1000, by when the gateway has given every order a final state or UNKNOWN.
    retry_not_now: retry GATEWAY_BUSY, BRIDGE_DOWN and STORE_UNAVAILABLE (nothing recorded,
        nothing sent) with the same uuid until the deadline, instead of returning them.
    max_in_flight: requests of one submit_many unanswered at once (the rest wait their turn);
        below the socket's high-water mark (1000), so that sending never blocks.
    context: a zmq.Context to share; None: zmq.Context.instance().
    curve_server_key: for a gateway that speaks CurveZMQ (its curve_secret_cert; docs/SECURITY.md):
        its public key, as 40 characters of Z85 (str or bytes; ordergated logs it at start) or the
        path of its public certificate (``ordergatectl keygen gateway DIR`` writes DIR/gateway.key).
    curve_secret_cert: this client's secret certificate (``ordergatectl keygen NAME DIR`` writes
        DIR/NAME.key_secret), read with zmq.auth.load_certificate; its public half must be in the
        gateway's curve_clients_dir, where its metadata.name is this client's identity. Both CURVE
        arguments or neither (ValueError otherwise, or when a certificate has no key); a key the
        gateway does not know gets no reply at all (ping raises TimeoutError).

    Construction does not block and does not contact the gateway (it reads the certificates).
    """

    def __init__(self, endpoint: str, *, request_timeout_ms: Optional[int] = None,
                 deadline_ms: Optional[int] = None, retry_not_now: bool = True,
                 max_in_flight: int = 256, context: Optional[zmq.Context] = None,
                 curve_server_key: Optional[Any] = None,
                 curve_secret_cert: Optional[str] = None):
        if request_timeout_ms is not None and not 100 <= request_timeout_ms <= 600000:
            raise ValueError("request_timeout_ms must be within 100..600000")
        self._curve = _load_curve(curve_server_key, curve_secret_cert)
        self.endpoint = endpoint
        self._ctx = context or zmq.Context.instance()
        self._fixed_timeout_ms = request_timeout_ms
        self._deadline_ms = deadline_ms
        self._retry_not_now = retry_not_now
        self._max_in_flight = max(1, max_in_flight)
        self._gateway: Optional[Dict[str, Any]] = None  # PING's gateway object, once read
        self._in_doubt: Dict[str, Order] = {}
        self._sock: Optional[zmq.Socket] = None
        # One Poller per socket: pyzmq's Socket.poll builds a new one on every call.
        self._poller: Optional[zmq.Poller] = None
        self._dirty = False  # the socket may still deliver replies to an earlier call
        self.reconnects = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the socket (unsent requests are dropped: LINGER 0). Does not block."""
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None
            self._poller = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the calls ---------------------------------------------------------------------------

    def ping(self, timeout_ms: Optional[int] = None) -> Dict[str, Any]:
        """Sends PING and returns the reply (a dict with status "ok" and the gateway object).

        Blocks until the reply or timeout_ms (default: request_timeout_ms, else 2000). Raises
        TimeoutError when no reply came (the socket is then replaced). Updates the timeouts this
        client aligns on; the first submit/status asks it by itself.
        """
        wait_ms = timeout_ms or self._fixed_timeout_ms or DEFAULT_CLIENT_TIMEOUT_MS
        uuid = new_uuid()
        request = _Request(uuid, json.dumps({"action": "PING", "uuid": uuid}))
        self._run({uuid: request}, time.monotonic() + wait_ms / 1000.0, orders=False,
                  attempt_ms=wait_ms, resend=False)
        if request.last is None:
            raise TimeoutError("no PING reply from %s within %d ms" % (self.endpoint, wait_ms))
        gateway = request.last.get("gateway")
        if isinstance(gateway, dict):
            self._gateway = gateway
        return request.last

    def submit(self, symbol: str, type: str, volume: float, *, price: Optional[float] = None,
               sl: Optional[float] = None, tp: Optional[float] = None,
               comment: Optional[str] = None, magic: Optional[int] = None,
               uuid: Optional[str] = None, deadline_ms: Optional[int] = None) -> Outcome:
        """Sends one OPEN and returns its outcome; blocks until then or until deadline_ms.

        uuid: the idempotency key; None generates one (Outcome.uuid tells it). Sending an earlier
        order's uuid again asks about that order: it never executes twice. Raises ValueError for a
        uuid outside the protocol's 1-64 characters of [A-Za-z0-9._:-], or a NaN/infinite number,
        before sending anything.
        Returns an Outcome whose status is
          FILLED    executed (ticket), possibly earlier (duplicate True);
          REJECTED  refused: by the bridge (recorded; a new order needs a new uuid), or by ordergate
                    (error_code: RISK_LIMIT, IDEMPOTENCY_CONFLICT, a field's, or GATEWAY_BUSY /
                    BRIDGE_DOWN when retry_not_now is off or the deadline came);
          UNKNOWN   the bridge did not answer; it may have executed: status(uuid) later, never a
                    new uuid (returned at once: waiting is the caller's choice);
          PENDING   still in flight when the deadline came (re-asked with the same uuid until then);
          error     the request was bad or could not be served (error_code), nothing sent;
          NO_REPLY  no reply at all before the deadline (the gateway was unreachable throughout).
        UNKNOWN, PENDING and NO_REPLY leave the order in in_doubt() until a later call settles it.
        Blocks on: PING once (the first call), then the replies; each reply wait is bounded by the
        reply wait, after which the socket is replaced and the same uuid sent again.
        """
        order = Order(symbol=symbol, type=type, volume=volume, price=price, sl=sl, tp=tp,
                      comment=comment, magic=magic, uuid=uuid)
        return self.submit_many([order], deadline_ms=deadline_ms)[0]

    def close_position(self, ticket: int, *, uuid: Optional[str] = None,
                       deadline_ms: Optional[int] = None) -> Outcome:
        """Sends one CLOSE of `ticket`; blocks and returns exactly as submit() does."""
        order = Order(action="CLOSE", ticket=ticket, uuid=uuid)
        return self.submit_many([order], deadline_ms=deadline_ms)[0]

    def submit_many(self, orders: Iterable[Order],
                    deadline_ms: Optional[int] = None) -> List[Outcome]:
        """Sends every order at once (all in flight together) and returns their outcomes in order.

        Each outcome is what submit() would return for that order; uuids must be distinct. Blocks
        until every order has an outcome or deadline_ms (one deadline for all) has passed.
        """
        orders = list(orders)
        requests: Dict[str, _Request] = {}
        uuids = []
        for order in orders:
            uuid = order.uuid or new_uuid()
            if not _UUID_RE.match(uuid):
                raise ValueError("uuid %r: 1-64 characters of [A-Za-z0-9._:-] (protocol, "
                                 "section 2)" % uuid)
            if uuid in requests:
                raise ValueError("uuid %r twice in one submit_many" % uuid)
            if order.action not in ("OPEN", "CLOSE"):
                raise ValueError("action must be OPEN or CLOSE, not %r" % order.action)
            # allow_nan=False: ValueError now for NaN/inf rather than INVALID_JSON later.
            requests[uuid] = _Request(uuid, json.dumps(order.body(uuid), allow_nan=False))
            uuids.append(uuid)
        for order, uuid in zip(orders, uuids):
            # In doubt until an outcome settles it (an exception out of this call, such as
            # KeyboardInterrupt, leaves them listed).
            self._in_doubt[uuid] = dataclasses.replace(order, uuid=uuid)
        start = time.monotonic()
        attempt_ms = self._attempt_ms()
        deadline = start + self._default_deadline_s(attempt_ms, deadline_ms)
        self._run(requests, deadline, orders=True, attempt_ms=attempt_ms, resend=True)
        outcomes = []
        for uuid in uuids:
            outcome = self._outcome(requests[uuid])
            if outcome.final:
                self._in_doubt.pop(uuid, None)
            outcomes.append(outcome)
        return outcomes

    def status(self, uuid: str, deadline_ms: Optional[int] = None) -> Outcome:
        """Asks ORDER_STATUS for `uuid` once; never causes the order to be sent again.

        Blocks until the reply (resent on a new socket if the link broke) or deadline_ms (default:
        three attempts' waits). Returns the stored outcome: FILLED, REJECTED, UNKNOWN, PENDING
        (still in flight), error with error_code NOT_FOUND (no record of it), or NO_REPLY. A
        settled outcome (FILLED, REJECTED) removes the uuid from in_doubt().
        """
        start = time.monotonic()
        attempt_ms = self._attempt_ms()
        deadline = start + (deadline_ms / 1000.0 if deadline_ms else 3 * _wait_s(attempt_ms))
        request = _Request(uuid, json.dumps({"action": "ORDER_STATUS", "uuid": uuid}))
        self._run({uuid: request}, deadline, orders=False, attempt_ms=attempt_ms, resend=True)
        outcome = self._outcome(request)
        if outcome.status in (FILLED, REJECTED):
            self._in_doubt.pop(uuid, None)
        return outcome

    def wait_settled(self, uuid: str, deadline_ms: int, poll_ms: int = 200) -> Outcome:
        """Asks status(uuid) every poll_ms until FILLED, REJECTED or deadline_ms; returns the last.

        Blocks up to deadline_ms. For orders left UNKNOWN: ordergate resolves them from a late
        bridge reply, ORDER_STATUS at the bridge or an operator.
        """
        deadline = time.monotonic() + deadline_ms / 1000.0
        while True:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            outcome = self.status(uuid, deadline_ms=max(1, remaining_ms))
            if (outcome.status in (FILLED, REJECTED)
                    or time.monotonic() + poll_ms / 1000.0 > deadline):
                return outcome
            time.sleep(poll_ms / 1000.0)

    def in_doubt(self) -> Dict[str, Order]:
        """Orders whose last outcome was UNKNOWN, PENDING or NO_REPLY, by uuid (a copy).

        Ask again with the same uuid (submit_many(list(in_doubt().values()))) or status(uuid).
        Held in this process only: a strategy that must survive its own restart persists the
        uuids it sends before sending them.
        """
        return dict(self._in_doubt)

    @property
    def gateway(self) -> Optional[Dict[str, Any]]:
        """PING's gateway object (version, bridge, client_timeout_ms, ...) once read, else None."""
        return self._gateway

    # -- inside ------------------------------------------------------------------------------

    def _attempt_ms(self) -> int:
        """The attempt timeout T: fixed, or the gateway's client_timeout_ms (PING asked until it
        has been answered once; bridge_timeout_ms sets the default deadline)."""
        if self._gateway is None:
            try:
                self.ping()
            except TimeoutError:
                pass  # asked again on the next call; the protocol's defaults meanwhile
        if self._fixed_timeout_ms is not None:
            return self._fixed_timeout_ms
        ms = (self._gateway or {}).get("client_timeout_ms")
        return ms if isinstance(ms, int) and 100 <= ms <= 600000 else DEFAULT_CLIENT_TIMEOUT_MS

    def _default_deadline_s(self, attempt_ms: int, deadline_ms: Optional[int]) -> float:
        if deadline_ms is not None:
            return deadline_ms / 1000.0
        if self._deadline_ms is not None:
            return self._deadline_ms / 1000.0
        ms = (self._gateway or {}).get("bridge_timeout_ms")
        bridge_s = (ms if isinstance(ms, int) and ms > 0 else DEFAULT_BRIDGE_TIMEOUT_MS) / 1000.0
        return bridge_s + (2 * attempt_ms + 1000) / 1000.0

    def _socket(self) -> zmq.Socket:
        if self._sock is None or self._dirty:
            if self._sock is not None:
                self._sock.close(linger=0)
                self.reconnects += 1
            sock = self._ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            if self._curve is not None:
                server_key, public_key, secret_key = self._curve
                sock.curve_serverkey = server_key
                sock.curve_publickey = public_key
                sock.curve_secretkey = secret_key
            sock.setsockopt(zmq.RECONNECT_IVL, 100)
            sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
            sock.connect(self.endpoint)
            self._sock = sock
            self._poller = zmq.Poller()
            self._poller.register(sock, zmq.POLLIN)
            self._dirty = False
        return self._sock

    def _send(self, request: _Request, now: float, deadline: float, attempt_ms: int,
              orders: bool) -> str:
        """Sends `request` (an order with the timeout_ms that makes the gateway answer within the
        wait). Returns "sent", "late" (too little time left for the gateway to answer: not sent)
        or "stuck" (the socket's high-water mark: a new socket is needed)."""
        body = request.body
        if orders:
            left_ms = int((deadline - now) * 1000)
            timeout_ms = min(attempt_ms, left_ms - max(100, left_ms // 11))
            if timeout_ms < 60:  # under the gateway's reply margin (50 ms): no time to answer
                return "late"
            body = b'%s,"timeout_ms":%d}' % (body[:-1], timeout_ms)  # the object's last member
        try:
            self._socket().send_multipart([b"", body], flags=zmq.NOBLOCK)
        except zmq.Again:
            self._dirty = True
            return "stuck"
        request.attempts += 1
        request.sent_at = now
        return "sent"

    def _run(self, requests: Dict[str, _Request], deadline: float, *, orders: bool,
             attempt_ms: int, resend: bool) -> None:
        """The event loop of one call: sends, receives, re-asks, reconnects, until every request
        has an answer that ends it, or `deadline`. orders: OPEN/CLOSE (PENDING is asked again,
        not-now refusals retried). Each reply is waited for attempt_ms + grace (_wait_s); at most
        one send per uuid is unanswered on the socket at a time. O(1) work per event."""
        reply_wait_s = _wait_s(attempt_ms)
        open_ = dict(requests)                  # uuid -> request without an answer that ends it
        to_send = collections.deque(open_.values())
        in_flight: "collections.OrderedDict[str, _Request]" = collections.OrderedDict()
        backoff: List[Any] = []                 # heap of (due, seq, uuid): not-now refusals
        seq = itertools.count()
        self._socket()  # a socket that an earlier call left with unanswered requests is replaced
        while open_:
            now = time.monotonic()
            if now >= deadline:
                break
            if self._dirty:
                # The link is broken (no reply within the wait: ordergated gone or restarting, a
                # lost message) or the socket is stuck: a new socket (on the next send), and every
                # request still open is asked again under its own uuid.
                if not resend:
                    break
                in_flight.clear()
                to_send = collections.deque(open_.values())
            while backoff and backoff[0][0] <= now:
                to_send.append(open_.get(heapq.heappop(backoff)[2]))
            while to_send and len(in_flight) < self._max_in_flight:
                request = to_send.popleft()
                if request is None or request.uuid not in open_ or request.uuid in in_flight:
                    continue
                sent = self._send(request, now, deadline, attempt_ms, orders)
                if sent == "stuck":
                    break
                if sent == "sent":
                    in_flight[request.uuid] = request  # newest last: the first is the oldest
            if self._dirty:
                continue
            if not in_flight and not backoff:
                break  # nothing unanswered and nothing due: too late to ask again
            wake = deadline
            if in_flight:
                wake = min(wake, next(iter(in_flight.values())).sent_at + reply_wait_s)
            if backoff:
                wake = min(wake, backoff[0][0])
            self._socket()
            if self._poller.poll(max(0, int((wake - now) * 1000) + 1)):
                self._drain(requests, open_, orders, to_send, in_flight, backoff, seq)
            elif in_flight and time.monotonic() >= (
                    next(iter(in_flight.values())).sent_at + reply_wait_s):
                self._dirty = True
        if in_flight:
            self._dirty = True  # replies may still come: the next call starts on a new socket

    def _drain(self, requests: Dict[str, _Request], open_: Dict[str, _Request], orders: bool,
               to_send: "collections.deque[_Request]",
               in_flight: "collections.OrderedDict[str, _Request]", backoff: List[Any],
               seq: "itertools.count[int]") -> None:
        """Reads every reply already here and files each under its uuid."""
        sock = self._sock
        # ZMQ_EVENTS rather than recv until zmq.Again: no exception per wake-up.
        while sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            frames = sock.recv_multipart(flags=zmq.NOBLOCK)
            try:
                reply = json.loads(frames[-1])
            except ValueError:
                continue  # not the protocol's; nothing to correlate it with
            if not isinstance(reply, dict):
                continue
            request = requests.get(reply.get("uuid"))
            if request is None and reply.get("uuid") is None and len(in_flight) == 1:
                # A reply without uuid (a request the gateway could not read): the one unanswered.
                request = next(iter(in_flight.values()))
            if request is None:
                continue  # a reply to an earlier call's request
            in_flight.pop(request.uuid, None)
            request.last = reply
            status = reply.get("status")
            if orders and status == PENDING:
                to_send.append(request)  # still in flight at the gateway: ask again, same uuid
            elif (orders and self._retry_not_now and status in (REJECTED, ERROR)
                  and reply.get("error_code") in NOT_NOW_CODES):
                due = time.monotonic() + request.backoff_s
                heapq.heappush(backoff, (due, next(seq), request.uuid))
                request.backoff_s = min(_BACKOFF_MAX_S, request.backoff_s * 2)
            else:
                open_.pop(request.uuid, None)

    @staticmethod
    def _outcome(request: _Request) -> Outcome:
        if request.last is None:
            return Outcome(uuid=request.uuid, status=NO_REPLY, attempts=request.attempts)
        return Outcome.from_reply(request.uuid, request.last, request.attempts)


def _wait_s(attempt_ms: int) -> float:
    """How long one attempt waits for its reply: T + max(100 ms, T / 10)."""
    return (attempt_ms + max(100, attempt_ms // 10)) / 1000.0


def new_uuid() -> str:
    """A fresh idempotency key: a version-4 UUID from the OS's random source (os.urandom)."""
    return str(_uuidlib.uuid4())
