"""HTTP details of the public identity API: negotiation, body decoding, credentials, cookies, responses.

Kept apart from the route table (public.py) so each stays readable; nothing here knows about flows.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from gatekeeper.asgi import ROUTE_KEY
from gatekeeper.errors import BadRequest, GatekeeperError, PayloadTooLarge, UnsupportedBody, envelope
from gatekeeper.http.errors import error_response
from gatekeeper.identity.client import ClientInfo

NO_CACHE = "private, no-cache, no-store, must-revalidate"
MAX_BODY = 256 * 1024
_OFFERS = ("text/html", "text/*", "*/*", "application/json")


def _accept_json(accept: str) -> bool:
    """Kratos' negotiation: offers text/html, text/*, */*, application/json; default text/html."""
    if not accept:
        return False
    ranges = []
    for part in accept.split(",")[:32]:
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q))
    best, best_q = "text/html", 0.0
    for offer in _OFFERS:
        q = max((rq for media, rq in ranges if _matches(media, offer)), default=0.0)
        if q > best_q:
            best, best_q = offer, q
    return best == "application/json"


def _matches(media: str, offer: str) -> bool:
    if media == "*/*" or media == offer:
        return True
    return media.endswith("/*") and offer.startswith(media[:-1])


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def wants_json(request: Request) -> bool:
    return content_type(request) == "application/json" or _accept_json(request.headers.get("accept", ""))


def session_credential(request: Request, cookie_name: str) -> str | None:
    """X-Session-Token, then the session cookie, then `Authorization: Bearer` (Kratos' order)."""
    token = request.headers.get("x-session-token")
    if token:
        return token
    cookie = request.cookies.get(cookie_name)
    if cookie:
        return cookie
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


def client_info(request: Request, public_base_url: str) -> ClientInfo:
    path = request.scope.get("path", "")
    query = request.url.query
    url = f"{public_base_url}{path}" + (f"?{query}" if query else "")
    client = request.scope.get("client")
    return ClientInfo(ip=client[0] if client else "", user_agent=request.headers.get("user-agent", ""),
                      url=url, cookies=request.cookies, origin=request.headers.get("origin"),
                      wants_json=wants_json(request))


async def read_body(request: Request) -> dict[str, Any]:
    """A submitted form or JSON object, nested by dotted names; clear 4xx for anything else."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY:
        raise PayloadTooLarge(reason=f"Request bodies are limited to {MAX_BODY} bytes.")
    kind = content_type(request)
    raw = await read_raw(request)
    if kind == "application/json":
        data = loads_json(raw or b"null")
        if not isinstance(data, dict):
            raise BadRequest(reason="The request body must be a JSON object.")
        return unflatten(list(data.items()))
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        request._body = raw  # let Starlette's form parser read what we already consumed
        try:
            form: FormData = await request.form(max_files=0, max_fields=200)
        except Exception:  # noqa: BLE001 - malformed multipart of any kind is the client's problem
            raise BadRequest(reason="The form body could not be parsed.") from None
        return unflatten([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    raise UnsupportedBody(reason="Send application/json, application/x-www-form-urlencoded or "
                                 "multipart/form-data.")


_LONE_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def loads_json(raw: bytes) -> Any:
    """A JSON body as Go's encoding/json (Kratos) reads it: a lone surrogate escape (`"\\ud800"`) becomes U+FFFD;
    NaN, Infinity and numbers beyond a float's range are not JSON. 400 for anything that is not JSON."""
    try:
        data = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
        return _without_surrogates(data) if _LONE_SURROGATE_ESCAPE.search(raw) else data
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest(reason="The request body is not valid JSON.") from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _finite(number: str) -> float:
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"{number} is out of range")
    return value


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value


async def read_raw(request: Request, limit: int = MAX_BODY) -> bytes:
    """The whole body, at most `limit` bytes (413 beyond); 400 when the client leaves half way."""
    try:
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limit:
                raise PayloadTooLarge(reason=f"Request bodies are limited to {limit} bytes.")
    except ClientDisconnect:
        raise BadRequest(reason="The client disconnected before sending the whole body.") from None
    return raw


def unflatten(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """`traits.name.first=Ada` -> {"traits": {"name": {"first": "Ada"}}}; the last repeated key wins."""
    out: dict[str, Any] = {}
    for key, value in items:
        parts = str(key).split(".") if "." in str(key) else [str(key)]
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]].update(value)
        else:
            node[parts[-1]] = value
    return out


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers={"Cache-Control": NO_CACHE, **(headers or {})})


def redirect(url: str, status: int = 303) -> Response:
    return RedirectResponse(url, status_code=status, headers={"Cache-Control": NO_CACHE})


def gatekeeper_error_response(exc: GatekeeperError) -> Response:
    resp = error_response(exc)
    if exc.extra:
        body = envelope(exc.status, exc.message, error_id=exc.error_id, reason=exc.reason,
                          details=exc.details)
        body.update(exc.extra)
        headers = {k: v for k, v in resp.headers.items() if k not in ("content-length", "content-type")}
        resp = JSONResponse(body, status_code=exc.status, headers=headers)
    resp.headers["Cache-Control"] = NO_CACHE
    return resp


Handler = Callable[[Request], Awaitable[Response]]
BrowserError = Callable[[Request, GatekeeperError], Awaitable[Response]]


def endpoint(name: str, *, browser_errors: BrowserError | None = None) -> Callable[[Handler], Handler]:
    """Name the route for metrics; map GatekeeperErrors to JSON, or (browser HTML) to `browser_errors`."""
    def wrap(fn: Handler) -> Handler:
        @wraps(fn)
        async def handle(request: Request) -> Response:
            request.scope[ROUTE_KEY] = name
            try:
                return await fn(request)
            except GatekeeperError as exc:
                if browser_errors is not None and not exc.json_only and not wants_json(request) \
                        and "x-session-token" not in request.headers:
                    return await browser_errors(request, exc)
                return gatekeeper_error_response(exc)
        return handle
    return wrap


def with_query(url: str, **params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    if not query:
        return url
    return f"{url}{'&' if '?' in url else '?'}{query}"
