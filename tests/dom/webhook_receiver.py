"""A webhook receiver for the tests: a real HTTP server on a free loopback port, in a thread.

It checks each delivery as the Standard Webhooks recipe says, written here on its own rather than
with the engine's code, so a fault in the engine's signing cannot vouch for itself: the HMAC of
`{webhook-id}.{webhook-timestamp}.{body}` under the secret's key, and a timestamp within the
tolerance of this machine's clock. It takes a delivery (204) or refuses it (401, a bad signature
or a stale one; 500 while told to fail), and remembers everything it was sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_S = 300


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    port: int = 0
    secret: str = ""  # set once the subscription is made: the engine makes the secret
    tolerance_s: float = TOLERANCE_S
    failing: int = 0  # deliveries still to answer with a 500
    answer_after_s: float = 0.0  # how long each answer takes
    received: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def taken(self) -> list[dict[str, Any]]:
        """The events it took (answered 2xx), in the order they came."""
        with self.lock:
            return [d.event for d in self.received if d.answered < 300]

    def refused(self, status: int) -> list[Delivery]:
        with self.lock:
            return [d for d in self.received if d.answered == status]

    def check(self, headers: dict[str, str], body: bytes) -> bool:
        """The standard's verification, step by step."""
        msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
        if not msg_id or not stamp.isdigit() or abs(time.time() - int(stamp)) > self.tolerance_s:
            return False
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        expected = "v1," + base64.b64encode(mac).decode()
        return any(
            hmac.compare_digest(expected, given)
            for given in headers.get("webhook-signature", "").split()
        )

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        time.sleep(self.answer_after_s)
        with self.lock:
            if not self.check(headers, body):
                status = 401
            elif self.failing > 0:
                self.failing -= 1
                status = 500
            else:
                status = 204
            self.received.append(Delivery(headers, body, status))
        return status


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            self.send_response(receiver.answer(headers, body))
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def receiving(receiver: Receiver | None = None) -> Iterator[Receiver]:
    """The receiver listening (on its port, or a free one) until the block ends."""
    receiver = receiver or Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def wait_for(condition: Any, timeout_s: float = 15.0, every_s: float = 0.05) -> None:
    """Until `condition()` holds; fails with what it last returned after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not (last := condition()):
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {last!r}"
        time.sleep(every_s)
