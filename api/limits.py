"""The API's limits, each named with its unit, and the request checks that enforce them before a
route runs: body size (413), then the caller's key (401, 403, 429: api/deps.py), then content type
(415), JSON that parses (400) and is not too deep (400).
Identifier lengths, batch sizes and cart lines are limited by the models (api/schemas)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute

from api.deps import admit, key_scopes
from api.problems import ProblemError, problem, responses

MAX_BODY_BYTES = 16 * 1024 * 1024  # a request body: a full batch of events or a count file fits
MAX_JSON_DEPTH = 8  # nested objects and arrays in a body; the deepest model needs 4
MAX_CSV_BODY_BYTES = MAX_BODY_BYTES
JSON = "application/json"
CSV = "text/csv"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def depth(value: Any) -> int:
    """How deep objects and arrays nest in parsed JSON; iterative, so no body can overflow it."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, level)
        if level > MAX_JSON_DEPTH:
            return level
        stack.extend((child, level + 1) for child in item if isinstance(child, dict | list))
    return deepest


class LimitedRequest(Request):
    """A request whose JSON is parsed by orjson and refused when nested too deep."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                value = orjson.loads(await self.body())
            except orjson.JSONDecodeError as error:
                raise ProblemError(
                    400, "malformed-json", f"the body is not JSON: {error}"
                ) from None
            if depth(value) > MAX_JSON_DEPTH:
                raise ProblemError(
                    400, "json-too-deep", f"JSON nests at most {MAX_JSON_DEPTH} levels deep"
                )
            self._json = value
        return self._json


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


class LimitedRoute(APIRoute):
    """Every route of the API: the caller's key is checked first, when the route takes one; then
    a body must be of the media type the route takes (JSON unless the route says
    `openapi_extra={"x-accepts": "text/csv"}`), and JSON is read by LimitedRequest."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if _takes_body(self):  # what the checks below answer, in the route's documentation
            documented = {**responses(400, 413, 415), **self.responses}
            self.responses = dict(sorted(documented.items(), key=lambda item: str(item[0])))

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()
        accepts = _accepts(self)
        takes_body = _takes_body(self)
        scopes = key_scopes(self.dependant)

        async def limited(request: Request) -> Response:
            if scopes is not None:
                await admit(request, scopes)
            if takes_body and request.method in _BODY_METHODS:
                kind = media_type(request)
                if kind != accepts and not (accepts == JSON and kind.endswith("+json")):
                    raise ProblemError(
                        415, "unsupported-media-type",
                        f"this route takes {accepts}, not {kind or 'a body without a Content-Type'}",
                    )  # fmt: skip
            return await handler(LimitedRequest(request.scope, request.receive))

        return limited


def _accepts(route: APIRoute) -> str:
    return (route.openapi_extra or {}).get("x-accepts", JSON)


def _takes_body(route: APIRoute) -> bool:
    return route.body_field is not None or _accepts(route) != JSON


class BodyLimit:
    """ASGI middleware: a body over MAX_BODY_BYTES is refused with 413, by its Content-Length
    before it is read, or as soon as a chunked body passes the limit."""

    def __init__(
        self, app: Callable[..., Awaitable[None]], max_bytes: int = MAX_BODY_BYTES
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise ProblemError(413, "body-too-large", self._detail())
            return message

        await self.app(scope, counted, send)

    def _detail(self) -> str:
        return f"a request body is at most {self.max_bytes:,} bytes"

    async def _refuse(self, scope: dict, receive: Callable, send: Callable) -> None:
        response = problem(413, "body-too-large", self._detail(), {"Connection": "close"})
        await response(scope, receive, send)
