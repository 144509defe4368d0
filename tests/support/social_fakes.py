"""Local stand-ins for the plain-OAuth2 social providers (no network): each serves its provider's authorize,
token and user endpoints at the paths gatekeeper's provider module names, answering in that provider's shapes
(`SHAPES`: token answer extras and user answers built from one `Person`). gatekeeper reaches them through
`issuer_url`, which moves a provider's fixed endpoints to another origin.

The token endpoint checks the client (HTTP Basic, form, or DingTalk's JSON body), single-use codes and the
redirect URI; user endpoints check the access token wherever the provider carries it (Bearer header,
`access_token` / `oauth_token` query parameter, DingTalk's header) and Facebook's `appsecret_proof`. `FakeX`:
X's OAuth 1.0a dance, every request's signature checked by this module's own RFC 5849 implementation. `FakeLine`:
LINE Login's OpenID Connect, whose id_token is ES256 with a published key only when the code exchange says
`id_token_key_type=JWK` (otherwise HS256 with the channel secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gatekeeper.identity.oidc.providers import PROVIDERS
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider, client_ok, redirect_to


@dataclass
class Person:
    id: str = "1001"
    email: str = "kim@example.com"
    first: str = "Kim"
    last: str = "Lee"

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


Answer = Callable[[Person], Any]


@dataclass(frozen=True)
class Shape:
    """One provider's answers: `user` maps a path (as the provider module names it) to its answer."""

    kind: str
    user: dict[str, Answer]
    token_extra: dict[str, Any] = field(default_factory=dict)
    email: bool = True  # whether the provider tells the address


def _path(url: str) -> str:
    return urlsplit(url).path


def _paths(kind: str) -> tuple[str, str, str]:
    cls: Any = PROVIDERS[kind]
    return _path(cls.auth_endpoint), _path(cls.exchange_endpoint), _path(cls.user_endpoint)


SHAPES: dict[str, Shape] = {s.kind: s for s in (
    Shape("oauth2", {"/api/me": lambda p: {"id": int(p.id), "email": p.email, "email_verified": True,
                                           "name": p.name}}),
    Shape("github-app", {"/user": lambda p: {"id": int(p.id), "login": "kim", "name": p.name},
                         "/user/emails": lambda p: [{"email": p.email, "primary": True, "verified": True}]}),
    Shape("amazon", {"/user/profile": lambda p: {"user_id": f"amzn1.account.{p.id}", "email": p.email,
                                                 "name": p.name, "postal_code": "98109"}}),
    Shape("auth0", {"/userinfo": lambda p: {"sub": f"auth0|{p.id}", "email": p.email, "email_verified": True,
                                            "name": p.name, "updated_at": "2026-01-01T00:00:00.000Z"}}),
    Shape("salesforce", {"/services/oauth2/userinfo": lambda p: {
        "sub": f"https://login.salesforce.com/id/00D/{p.id}", "user_id": p.id, "email": p.email,
        "email_verified": True, "name": p.name}}),
    Shape("discord", {"/api/users/@me": lambda p: {"id": p.id, "username": "kim", "discriminator": "0042",
                                                   "avatar": "abc", "email": p.email, "verified": True,
                                                   "locale": "en-GB"}},
          token_extra={"scope": "identify email"}),
    Shape("facebook", {"/me": lambda p: {"id": p.id, "name": p.name, "first_name": p.first, "last_name": p.last,
                                         "email": p.email, "picture": {"data": {"url": "https://fb/p.jpg"}}}}),
    Shape("lark", {"/suite/passport/oauth/userinfo": lambda p: {
        "sub": "ou_x", "open_id": f"ou_{p.id}", "union_id": "on_1", "name": p.name, "en_name": p.name,
        "avatar_url": "https://lark/a.png", "email": p.email, "mobile": "+8613800000000", "tenant_key": "t"}}),
    Shape("linkedin", {"/v2/me": lambda p: {"id": p.id, "localizedFirstName": p.first, "localizedLastName": p.last},
                       "/v2/emailAddress": lambda p: {"elements": [
                           {"handle": "urn:li:emailAddress:1", "handle~": {"emailAddress": p.email}}]}}),
    Shape("patreon", {"/api/oauth2/v2/identity": lambda p: {"data": {
        "id": p.id, "type": "user", "attributes": {"email": p.email, "first_name": p.first, "last_name": p.last,
                                                   "full_name": p.name, "image_url": "https://patreon/i.png"}}}}),
    Shape("slack", {"/api/users.identity": lambda p: {
        "ok": True, "user": {"id": f"U{p.id}", "name": p.name, "email": p.email, "image_512": "https://s/i.png"},
        "team": {"id": "T42"}}}, token_extra={"scope": "identity.basic,identity.email,identity.avatar"}),
    Shape("spotify", {"/v1/me": lambda p: {"id": f"sp{p.id}", "display_name": p.name, "email": p.email,
                                           "images": [{"url": "https://sp/i.png"}],
                                           "external_urls": {"spotify": "https://open.spotify.com/user/x"}}},
          token_extra={"scope": "user-read-email user-read-private"}),
    Shape("vk", {"/method/users.get": lambda p: {"response": [{"id": int(p.id), "first_name": p.first,
                                                               "last_name": p.last, "sex": 1}]}},
          token_extra={"email": "kim@example.com", "user_id": 1001}),
    Shape("yandex", {"/info": lambda p: {"id": p.id, "login": "kim", "first_name": p.first, "last_name": p.last,
                                         "default_email": p.email, "default_avatar_id": "131652443",
                                         "is_avatar_empty": False, "sex": "female"}}),
    Shape("dingtalk", {"/v1.0/contact/users/me": lambda p: {"nick": p.name, "openId": f"dt{p.id}",
                                                             "avatarUrl": "https://dt/a.png", "email": p.email}}),
)}


class FakeOAuth2:
    """One provider's stand-in, served by `app()`; `person` is who signs in (change it between sign-ins)."""

    def __init__(self, kind: str) -> None:
        self.shape, self.person = SHAPES[kind], Person()
        self.answers = dict(self.shape.user)  # path -> answer; a test may change one
        self.codes: dict[str, str] = {}
        self.tokens: set[str] = set()
        self.authorize_requests: list[dict[str, str]] = []

    def app(self) -> Starlette:
        if self.shape.kind == "oauth2":
            authorize, token = "/oauth/authorize", "/oauth/token"
        else:
            authorize, token, _ = _paths(self.shape.kind)
        routes = [Route(authorize, self.authorize), Route(token, self.token, methods=["POST"])]
        routes += [Route(path, self._user(path)) for path in self.answers]
        return Starlette(routes=routes)

    async def authorize(self, request: Request) -> Response:
        q = dict(request.query_params)
        self.authorize_requests.append(q)
        if q.get("client_id") != CLIENT_ID or not q.get("redirect_uri"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(12)
        self.codes[code] = q["redirect_uri"]
        return redirect_to(q["redirect_uri"], code=code, state=q.get("state", ""))

    async def token(self, request: Request) -> Response:
        if self.shape.kind == "dingtalk":
            body = json.loads(await request.body())
            ok = body.get("clientId") == CLIENT_ID and body.get("clientSecret") == CLIENT_SECRET
            if not ok or self.codes.pop(str(body.get("code")), None) is None:
                return JSONResponse({"code": "invalidCode", "message": "code is invalid"}, status_code=400)
            token = self._issue()
            return JSONResponse({"accessToken": token, "refreshToken": "r", "expireIn": 7200})
        form = dict(await request.form())
        if not client_ok(request, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if self.codes.pop(str(form.get("code")), None) != form.get("redirect_uri"):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse({"access_token": self._issue(), "token_type": "bearer", "expires_in": 3600,
                             **self.shape.token_extra})

    def _issue(self) -> str:
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return token

    def _user(self, path: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            q = request.query_params
            token = (request.headers.get("authorization", "")[7:] or q.get("access_token") or q.get("oauth_token")
                     or request.headers.get("x-acs-dingtalk-access-token", ""))
            if token not in self.tokens:
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            if self.shape.kind == "facebook":
                proof = hmac.new(CLIENT_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()
                if q.get("appsecret_proof") != proof:
                    return JSONResponse({"error": {"message": "Invalid appsecret_proof"}}, status_code=400)
            return JSONResponse(self.answers[path](self.person))
        return endpoint


def _rfc3986(value: str) -> str:
    return quote(value, safe="~")


def oauth1_signature_ok(request: Request, consumer_secret: str, token_secrets: dict[str, str]) -> dict[str, str]:
    """The request's OAuth 1.0a parameters when its HMAC-SHA1 signature checks out (RFC 5849 section 3.4), else {}."""
    header = request.headers.get("authorization", "")
    if not header.startswith("OAuth "):
        return {}
    oauth = {unquote(k.strip()): unquote(v.strip().strip('"'))
             for k, _, v in (part.partition("=") for part in header[6:].split(","))}
    given = oauth.pop("oauth_signature", "")
    pairs = sorted((_rfc3986(k), _rfc3986(v)) for k, v in [*oauth.items(), *request.query_params.multi_items()])
    url = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
    text = "&".join([request.method, _rfc3986(url), _rfc3986("&".join(f"{k}={v}" for k, v in pairs))])
    secret = token_secrets.get(oauth.get("oauth_token", ""), "")
    key = f"{_rfc3986(consumer_secret)}&{_rfc3986(secret)}".encode()
    expected = base64.b64encode(hmac.new(key, text.encode(), hashlib.sha1).digest()).decode()
    return oauth if hmac.compare_digest(expected, given) and oauth.get("oauth_consumer_key") == CLIENT_ID else {}


class FakeX:
    """X's OAuth 1.0a endpoints (request token, authenticate, access token) and verify_credentials."""

    def __init__(self) -> None:
        self.person = Person()
        self.secrets: dict[str, str] = {}  # token -> token secret (request and access tokens)
        self.callbacks: dict[str, str] = {}  # request token -> oauth_callback
        self.verifiers: dict[str, str] = {}  # request token -> verifier
        self.access: set[str] = set()

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/oauth/request_token", self.request_token, methods=["POST"]),
                                 Route("/oauth/authenticate", self.authenticate),
                                 Route("/oauth/access_token", self.access_token, methods=["POST"]),
                                 Route("/1.1/account/verify_credentials.json", self.verify_credentials)])

    def _pair(self) -> tuple[str, str]:
        token, secret = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        self.secrets[token] = secret
        return token, secret

    async def request_token(self, request: Request) -> Response:
        oauth = oauth1_signature_ok(request, CLIENT_SECRET, {})
        if not oauth.get("oauth_callback"):
            return Response("invalid signature", status_code=401)
        token, secret = self._pair()
        self.callbacks[token] = oauth["oauth_callback"]
        return Response(urlencode({"oauth_token": token, "oauth_token_secret": secret,
                                   "oauth_callback_confirmed": "true"}))

    async def authenticate(self, request: Request) -> Response:
        token = request.query_params.get("oauth_token", "")
        if token not in self.callbacks:
            return Response("unknown request token", status_code=400)
        self.verifiers[token] = secrets.token_urlsafe(8)
        return redirect_to(self.callbacks.pop(token), oauth_token=token, oauth_verifier=self.verifiers[token])

    async def access_token(self, request: Request) -> Response:
        oauth = oauth1_signature_ok(request, CLIENT_SECRET, {})  # Kratos signs with the consumer secret only
        token = oauth.get("oauth_token", "")
        if not oauth or self.verifiers.pop(token, None) != oauth.get("oauth_verifier"):
            return Response("invalid or expired token", status_code=401)
        access, secret = self._pair()
        self.access.add(access)
        return Response(urlencode({"oauth_token": access, "oauth_token_secret": secret, "user_id": self.person.id,
                                   "screen_name": "kim"}))

    async def verify_credentials(self, request: Request) -> Response:
        oauth = oauth1_signature_ok(request, CLIENT_SECRET, self.secrets)
        if oauth.get("oauth_token") not in self.access:
            return JSONResponse({"errors": [{"code": 89, "message": "Invalid or expired token."}]}, status_code=401)
        p = self.person
        user = {"id": int(p.id), "id_str": p.id, "name": p.name, "screen_name": "kim",
                "profile_image_url_https": "https://pbs.twimg.com/p.jpg", "url": None}
        if request.query_params.get("include_email") == "true":
            user["email"] = p.email
        return JSONResponse(user)


class FakeLine(OidcProvider):
    """LINE Login v2.1 (`line`): its id_token claims (`amr`, `name`, `picture`, `email` with the email scope);
    ES256 signed with the key its JWKS publishes when the token request asks `id_token_key_type=JWK`, else HS256
    signed with the channel secret, as LINE does."""

    def __init__(self) -> None:
        super().__init__()
        self.user = {"sub": "U4af4980629", "amr": ["linesso"], "name": "Kim Lee",
                     "picture": "https://profile.line-scdn.net/0h", "email": "kim@example.com"}
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.key_types: list[str] = []  # each code exchange's id_token_key_type ("" when not sent)

    async def token(self, request: Request) -> Response:
        self.key_types.append(str((await request.form()).get("id_token_key_type", "")))
        return await super().token(request)

    async def jwks(self, request: Request) -> Response:
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return JSONResponse({"keys": [{**jwk, "kid": "line-1", "alg": "ES256", "use": "sig"}]})

    def sign(self, claims: dict[str, Any]) -> str:
        if self.key_types and self.key_types[-1] == "JWK":
            return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": "line-1"})
        return jwt.encode(claims, CLIENT_SECRET, algorithm="HS256")
