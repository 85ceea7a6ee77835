"""ASGI middleware: a request id, timing, metrics and the access log around every request (``RequestContext``),
and the body-size limit (``BodyLimit``), so that a body over the limit is refused without being read whole.

Both are plain ASGI (no per-request task or buffering beyond the limit). ``RequestContext`` is also the last
line of defence: an exception that escapes the app becomes a JSON answer with code E900 and the request id,
never a traceback.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from typing import Any, Awaitable, Callable, MutableMapping

from starlette.datastructures import MutableHeaders

from ..errors import E_INTERNAL, E_TOO_LARGE
from .logs import ACCESS, LOG, event, request_id
from .metrics import Metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = "x-request-id"
# A caller's own id is kept (to follow a request across systems) when it is short and plain.
_CALLER_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_info(scope: Scope) -> dict[str, Any]:
    """What the access log will say of this request; routes add ``conversations`` and ``codes``."""
    return scope.setdefault("state", {}).setdefault("info", {"codes": [], "conversations": 0, "bytes_in": 0})


async def send_json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


class RequestContext:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or ()).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        rid = given if _CALLER_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        info = request_info(scope)
        status: list[int] = []
        sent = [0]
        start = time.perf_counter()
        self.metrics.in_flight.inc()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = rid
                # Answers hold customers' words: no cache keeps them, and no browser guesses their type.
                headers.setdefault("cache-control", "no-store")
                headers.setdefault("x-content-type-options", "nosniff")
            elif message["type"] == "http.response.body":
                sent[0] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:  # noqa: BLE001 - a bug must cost one answer, not the process or a traceback to the caller
            LOG.exception("unhandled error", extra={"fields": {"path": scope.get("path")}, "request_id": rid})
            info["codes"].append(E_INTERNAL)
            if not status:
                await send_json(send_with_id, 500, {
                    "detail": "internal error: a bug in samtaleanalyse, not in the request; it is logged under this "
                              "request id.", "errors": [], "request_id": rid})
        finally:
            elapsed = time.perf_counter() - start
            code = status[0] if status else 0
            path = _route_label(scope)
            m = self.metrics
            m.in_flight.dec()
            m.requests.labels(path, scope.get("method", ""), str(code)).inc()
            m.latency.labels(path).observe(elapsed)
            codes = info["codes"] or ([f"HTTP{code}"] if code >= 400 else [])
            for c in codes:
                m.errors.labels(c).inc()
            event(ACCESS, "request", logging.INFO, method=scope.get("method"), path=scope.get("path"), route=path,
                  status=code, bytes_in=info.get("bytes_in", 0), bytes_out=sent[0],
                  duration_ms=round(elapsed * 1000, 2), conversations=info.get("conversations", 0),
                  codes=codes or None, client=(scope.get("client") or ("-",))[0])
            request_id.reset(token)


def _route_label(scope: Scope) -> str:
    """The route's template (``/v1/analyse``), also for answers given before routing (413); else ``other``, so
    that probing for paths cannot make new series."""
    route = scope.get("route")
    if getattr(route, "path", None):
        return str(route.path)  # type: ignore[union-attr]
    app = scope.get("app")
    paths = {getattr(r, "path", None) for r in getattr(app, "routes", ())}
    return str(scope.get("path")) if scope.get("path") in paths else "other"


# A body over the limit is read on and thrown away, up to these bounds, before the 413 is sent: a client that
# sends its whole body before it reads (most HTTP libraries) then gets the answer instead of a reset connection.
# Nothing of it is kept. Larger bodies, and clients that asked "Expect: 100-continue" (curl), are answered at once.
DRAIN_BYTES = 16 * 2**20
DRAIN_SECONDS = 5.0


class BodyLimit:
    """Refuse a body over ``limit`` bytes with 413: when its Content-Length says so, before any of it is read,
    else as soon as what has arrived passes the limit. A body within the limit is handed to the app as it came."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        info = request_info(scope)
        headers = dict(scope.get("headers") or ())
        length = headers.get(b"content-length")
        expects = headers.get(b"expect", b"").lower() == b"100-continue"
        if length is not None and length.isdigit() and int(length) > self.limit:
            info["bytes_in"] = int(length)
            drained = not expects and int(length) <= DRAIN_BYTES and await self._drain(receive, 0)
            await self._refuse(scope, send, int(length), close=not drained)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client has gone: nobody to answer
            body = message.get("body", b"")
            size += len(body)
            if size > self.limit:
                info["bytes_in"] = size
                drained = not message.get("more_body", False) or await self._drain(receive, size)
                await self._refuse(scope, send, None, close=not drained)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        info["bytes_in"] = size
        whole = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _drain(receive: Receive, seen: int) -> bool:
        """Read and drop the rest of the body, within ``DRAIN_BYTES`` and ``DRAIN_SECONDS``; True when it ended."""
        async def rest() -> bool:
            total = seen
            while total <= DRAIN_BYTES:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return False
                total += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return True
            return False

        try:
            return await asyncio.wait_for(rest(), DRAIN_SECONDS)
        except asyncio.TimeoutError:
            return False

    async def _refuse(self, scope: Scope, send: Send, length: int | None, *, close: bool) -> None:
        info = request_info(scope)
        info["codes"].append(E_TOO_LARGE)
        size = f"{length:,} bytes" if length is not None else "more than that"
        reason = f"the request body is {size}, over the limit of {self.limit:,} bytes, and is refused."
        await send_json(send, 413, {
            "detail": f"[{E_TOO_LARGE}] request body: {reason}",
            "errors": [{"file": "request body", "code": E_TOO_LARGE, "reason": reason,
                        "hint": "send fewer or shorter conversations per request (the operator sets the limit with "
                                "--max-body-mb)."}],
            "request_id": scope.get("state", {}).get("request_id", "-")}, {"connection": "close"} if close else None)
