"""A local copy of projection reads that Redis vouches for (server-assisted client-side caching).

One connection of the copy's own asks Redis to announce every change to the keys under the
projection's read prefixes (`CLIENT TRACKING on REDIRECT <itself> BCAST PREFIX ...`) and listens
for the announcements on `__redis__:invalidate` (RESP2, so any Redis from 6.0 serves it). A key
leaves the copy when Redis announces a change to it; the whole copy goes when Redis announces a
flush, when the connection is lost, and when it has not answered a PING for SILENT_AFTER_S. No
value ever expires by age: a value is dropped on Redis's word, or when the copy can no longer
hear that word, and in that case reads go to Redis (and fail there when Redis is gone).

Why an answer from the copy is one Redis would have given:
1. Fills come only from reads sent once the connection is tracking (its SUBSCRIBE answered):
   every change Redis makes after such a read is announced.
2. A read's reply is kept only if no announcement for its key arrived between the read being
   sent and the reply being kept (`begin` ... `end`), so a value that changed while in flight is
   never kept; and none at all if the connection was lost meanwhile.
3. Redis announces a change in the same pass of its event loop that acknowledges the change to
   its writer. Before an answer is taken from the copy the connection is drained (`vouched`, a
   non-blocking read), so a change whose announcement has reached this process is never missed.
   What is left is the announcement's time in flight, the same as the acknowledgement's: a read
   that starts within it after a change answers as a read sent to Redis just before the change
   would. (Over a unix socket or loopback, bytes Redis sent earlier are readable before bytes it
   sent later: a request that made any round trip to the same Redis after the change, as the
   API's key check does, finds the announcement already here.)
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field

import hiredis
from redis.connection import SSLConnection, parse_url

log = logging.getLogger(__name__)

MAX_COPIED_KEYS = 50_000  # oldest first out beyond it: the hot SKUs are copied again at once
MAX_SPOILED_KEYS = 100_000  # announcements remembered for reads in flight; past it, all spoil
PING_EVERY_S = 0.5
SILENT_AFTER_S = 2.0  # nothing heard (PINGs included) this long: the copy is dropped
RECONNECT_EVERY_S = 1.0
CONNECT_TIMEOUT_S = 2.0
READ_BYTES = 65_536
INVALIDATE_CHANNEL = b"__redis__:invalidate"
MISSING = object()  # what `get` gives for a key not in the copy (None is a value: no such key)
_PING = b"*1\r\n$4\r\nPING\r\n"


@dataclass(frozen=True)
class Endpoint:
    """Where the copy's own connection goes: a unix socket, or a host and port."""

    path: str | None = None
    host: str = "127.0.0.1"
    port: int = 6379
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def of_url(cls, url: str) -> Endpoint | None:
        """From a redis:// or unix:// URL; None for TLS (rediss://), which the copy does not speak."""
        found = parse_url(url)
        if found.get("connection_class") is SSLConnection:
            return None
        return cls(
            found.get("path"), found.get("host", "127.0.0.1"), int(found.get("port", 6379)),
            found.get("username"), found.get("password"),
        )  # fmt: skip

    def open(self) -> socket.socket:
        if self.path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(CONNECT_TIMEOUT_S)
            sock.connect(self.path)
            return sock
        return socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT_S)


@dataclass(frozen=True, slots=True)
class Fill:
    """A read on its way to the copy: kept only if nothing spoiled it meanwhile."""

    epoch: int
    started: int  # announcements heard when the read was sent


class LocalCopy:
    """Values of projection keys, kept while Redis vouches for them. Use from one event loop."""

    def __init__(
        self,
        endpoint: Endpoint,
        prefixes: Sequence[str],
        name: str = "projection-copy",
        max_keys: int = MAX_COPIED_KEYS,
        silent_after_s: float = SILENT_AFTER_S,
    ) -> None:
        self.endpoint = endpoint
        self.prefixes = tuple(prefixes)
        self.name = name  # the connection's name in CLIENT LIST
        self.max_keys = max_keys
        self.silent_after_s = silent_after_s
        self._values: OrderedDict[str, object] = OrderedDict()
        self._epoch = 0  # moves when everything is dropped: fills begun before then spoil
        self._heard = 0  # announcements heard
        self._spoiled: dict[str, int] = {}  # key -> when it was last announced, while fills run
        self._fills = 0
        self._sock: socket.socket | None = None
        self._reader = hiredis.Reader()
        self._heard_at_s = 0.0
        self._keeper: asyncio.Task | None = None
        self.lost = 0  # times the connection was lost or fell silent

    # -- the copy -------------------------------------------------------------------------
    def vouched(self) -> bool:
        """Whether the copy may answer now: tracking, heard from lately, announcements read."""
        if self._sock is None:
            return False
        self._drain()
        if time.monotonic() - self._heard_at_s > self.silent_after_s:
            self._lose("no answer to PING")
        return self._sock is not None

    def get(self, key: str) -> object:
        return self._values.get(key, MISSING)

    def begin(self) -> Fill:
        """Before a read is sent; `end` (or `abandon`) after its reply."""
        self._fills += 1
        return Fill(self._epoch, self._heard)

    def end(self, fill: Fill, values: Mapping[str, object]) -> None:
        """Keep the read's values that nothing announced since it began."""
        if fill.epoch == self._epoch and self._sock is not None:
            spoiled = self._spoiled
            for key, value in values.items():
                if spoiled.get(key, -1) < fill.started:
                    self._put(key, value)
        self.abandon(fill)

    def abandon(self, fill: Fill) -> None:
        self._fills -= 1
        if self._fills == 0:
            self._spoiled.clear()

    def __len__(self) -> int:
        return len(self._values)

    @property
    def heard(self) -> int:
        """Announcements heard since the copy began (a change, or a flush)."""
        return self._heard

    def _put(self, key: str, value: object) -> None:
        values = self._values
        if key not in values and len(values) >= self.max_keys:
            values.popitem(last=False)
        values[key] = value

    def _forget(self, keys: Iterable[bytes]) -> None:
        values, spoiled = self._values, self._spoiled
        self._heard += 1
        for raw in keys:
            key = raw.decode()
            values.pop(key, None)
            if self._fills:
                spoiled[key] = self._heard
        if len(spoiled) > MAX_SPOILED_KEYS:
            self._drop_all()

    def _drop_all(self) -> None:
        self._values.clear()
        self._spoiled.clear()
        self._epoch += 1

    # -- the connection -------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background, and keep connected; reads go to Redis meanwhile."""
        self._keeper = asyncio.get_running_loop().create_task(self._keep())

    async def close(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with suppress(asyncio.CancelledError):
                await self._keeper
        self._lose(None)

    async def _keep(self) -> None:
        failures = 0
        while True:
            if self._sock is None:
                try:
                    sock, reader = await asyncio.to_thread(self._connect)
                except Exception as error:  # whatever it was, reads go to Redis; try again
                    failures += 1
                    (log.warning if failures == 1 else log.debug)(
                        "projection copy: cannot track (reads go to Redis): %s", error
                    )
                    await asyncio.sleep(RECONNECT_EVERY_S)
                    continue
                failures = 0
                self._adopt(sock, reader)
            else:
                self._ping()
            await asyncio.sleep(min(PING_EVERY_S, self.silent_after_s / 4))

    def _connect(self) -> tuple[socket.socket, hiredis.Reader]:
        """A tracking connection (blocking: run on a thread)."""
        sock = self.endpoint.open()
        reader = hiredis.Reader()
        try:
            if self.endpoint.password is not None:
                user = [self.endpoint.username] if self.endpoint.username else []
                _call(sock, reader, "AUTH", *user, self.endpoint.password)
            _call(sock, reader, "CLIENT", "SETNAME", self.name)
            me = _call(sock, reader, "CLIENT", "ID")
            prefixes = [part for prefix in self.prefixes for part in ("PREFIX", prefix)]
            _call(sock, reader, "CLIENT", "TRACKING", "on", "REDIRECT", me, "BCAST", *prefixes)
            _call(sock, reader, "SUBSCRIBE", INVALIDATE_CHANNEL)
        except BaseException:
            sock.close()
            raise
        sock.setblocking(False)
        return sock, reader

    def _adopt(self, sock: socket.socket, reader: hiredis.Reader) -> None:
        self._drop_all()  # nothing filled before now is vouched for
        self._sock, self._reader, self._heard_at_s = sock, reader, time.monotonic()
        asyncio.get_running_loop().add_reader(sock.fileno(), self._drain)

    def _ping(self) -> None:
        if self._sock is None:
            return
        try:
            self._sock.send(_PING)
        except BlockingIOError:
            pass  # a full buffer: the silence check decides
        except OSError as error:
            self._lose(f"PING failed: {error}")
            return
        if time.monotonic() - self._heard_at_s > self.silent_after_s:
            self._lose("no answer to PING")

    def _drain(self) -> None:
        """Read and apply every announcement already here, without waiting for more."""
        sock = self._sock
        if sock is None:
            return
        while True:
            try:
                data = sock.recv(READ_BYTES)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as error:
                self._lose(f"read failed: {error}")
                return
            if not data:
                self._lose("closed by the server")
                return
            self._reader.feed(data)
            if len(data) < READ_BYTES:
                break
        try:
            while (message := self._reader.gets()) is not False:
                self._hear(message)
        except hiredis.ProtocolError as error:
            self._lose(f"unreadable: {error}")

    def _hear(self, message: object) -> None:
        self._heard_at_s = time.monotonic()
        if not isinstance(message, list) or message[0] != b"message":
            return  # a PING's answer, or the subscription's
        keys = message[2]
        if keys is None:  # FLUSHALL / FLUSHDB: every key changed
            self._heard += 1
            self._drop_all()
        else:
            self._forget(keys)

    def _lose(self, why: str | None) -> None:
        sock = self._sock
        if sock is None:
            return
        self._sock = None
        self._drop_all()
        with suppress(OSError, RuntimeError):  # a loop already closed: nothing is watched
            asyncio.get_running_loop().remove_reader(sock.fileno())
        sock.close()
        if why is not None:
            self.lost += 1
            log.warning("projection copy dropped (reads go to Redis): %s", why)


def _call(sock: socket.socket, reader: hiredis.Reader, *args: object) -> object:
    """One command and its reply, on a blocking socket."""
    sock.sendall(_pack(args))
    while (reply := reader.gets()) is False:
        data = sock.recv(READ_BYTES)
        if not data:
            raise ConnectionError("the server closed the connection")
        reader.feed(data)
    if isinstance(reply, hiredis.ReplyError):
        raise ConnectionError(f"{args[0]} refused: {reply}")
    return reply


def _pack(args: Sequence[object]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        raw = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(parts)
