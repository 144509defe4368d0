"""A real OpenID Connect provider and a GitHub-shaped OAuth2 API for tests, served on 127.0.0.1.

`OidcProvider` (Starlette + PyJWT + cryptography): discovery, JWKS, authorize (auto-consent as `user`),
token (client authentication, single-use codes, redirect_uri and PKCE checks, RS256 id_token; refresh tokens,
rotated, when `offline_access` was asked for), userinfo, end_session (RP-initiated logout).
`faults` makes it misbehave: bad_signature, wrong_audience, expired, no_nonce, down (HTTP 503), tid_mismatch.
With `tenant_id`, it acts like Microsoft Entra's multi-tenant endpoints: it serves under `/<tenant>/v2.0`,
its discovery names the issuer `<base>/{tenantid}/v2.0`, and tokens carry `tid` and that issuer filled in.

`GitHubApi`: /login/oauth/authorize, /login/oauth/access_token, /user, /user/emails, /user/orgs and /user/teams.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "gatekeeper-test-client"
CLIENT_SECRET = "gatekeeper-test-secret"  # noqa: S105


@cache
def _key(name: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def redirect_to(url: str, **params: str) -> Response:
    target = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}" if params else url
    return RedirectResponse(target, status_code=302)


def client_ok(request: Request, form: dict[str, Any], secret_ok: Callable[[str], bool] | None = None) -> bool:
    """The client authenticated (HTTP Basic or the form); `secret_ok` judges the secret when it is not fixed."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
    else:
        user, password = str(form.get("client_id", "")), str(form.get("client_secret", ""))
    return user == CLIENT_ID and (secret_ok(password) if secret_ok else password == CLIENT_SECRET)


class OidcProvider:
    def __init__(self, *, tenant_id: str | None = None, tenant: str = "common") -> None:
        self.user: dict[str, Any] = {"sub": "user-1", "email": "ada@example.com", "email_verified": True,
                                     "name": "Ada Lovelace"}
        self.faults: set[str] = set()
        self.tenant_id, self.prefix = tenant_id, (f"/{tenant}/v2.0" if tenant_id else "")
        self.base = ""  # set once served: the server's URL
        self.codes: dict[str, dict[str, Any]] = {}
        self.access: dict[str, dict[str, Any]] = {}
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests = 0
        self.userinfo_extra: dict[str, Any] = {}  # claims only the userinfo endpoint tells
        self.secret_ok: Callable[[str], bool] | None = None  # a client secret that is not CLIENT_SECRET (Apple's JWT)
        self.form_post_user: str | None = None  # with response_mode=form_post: Apple's `user` field
        self.expires_in = 300  # access tokens' lifetime
        self.refresh: dict[str, dict[str, Any]] = {}  # refresh token -> its grant
        self.refresh_requests = 0
        self.end_session_requests: list[dict[str, str]] = []

    @property
    def issuer_url(self) -> str:
        """What gatekeeper is configured with (for Microsoft: the login host)."""
        return self.base if self.tenant_id else self.base + self.prefix

    def _issuer(self, *, for_token: bool) -> str:
        if self.tenant_id:
            return f"{self.base}/{self.tenant_id if for_token else '{tenantid}'}/v2.0"
        return self.base

    def app(self) -> Starlette:
        p = self.prefix
        return Starlette(routes=[
            Route(f"{p}/.well-known/openid-configuration", self.discovery),
            Route(f"{p}/jwks", self.jwks),
            Route(f"{p}/authorize", self.authorize),
            Route(f"{p}/token", self.token, methods=["POST"]),
            Route(f"{p}/userinfo", self.userinfo),
            Route(f"{p}/end_session", self.end_session),
        ])

    def _down(self) -> Response | None:
        return Response("unavailable", status_code=503) if "down" in self.faults else None

    async def discovery(self, request: Request) -> Response:
        base = self.base + self.prefix
        return self._down() or JSONResponse({
            "issuer": self._issuer(for_token=False), "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token", "userinfo_endpoint": f"{base}/userinfo", "jwks_uri": f"{base}/jwks",
            "end_session_endpoint": f"{base}/end_session", "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]})

    async def jwks(self, request: Request) -> Response:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(_key("good").public_key(), as_dict=True)
        return self._down() or JSONResponse({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]})

    async def authorize(self, request: Request) -> Response:
        q = dict(request.query_params)
        self.authorize_requests.append(q)
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code" or not q.get("redirect_uri"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"redirect_uri": q["redirect_uri"], "nonce": q.get("nonce"),
                            "challenge": q.get("code_challenge"), "user": dict(self.user),
                            "scope": q.get("scope", "")}
        if q.get("response_mode") == "form_post":  # what the browser would POST to the callback
            fields = {"code": code, "state": q.get("state", "")}
            if self.form_post_user is not None:
                fields["user"] = self.form_post_user
            return JSONResponse({"action": q["redirect_uri"], "fields": fields})
        return redirect_to(q["redirect_uri"], code=code, state=q.get("state", ""))

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        if down := self._down():
            return down
        form = dict(await request.form())
        if not client_ok(request, form, self.secret_ok):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") == "refresh_token":
            self.refresh_requests += 1
            grant = self.refresh.pop(str(form.get("refresh_token")), None)  # rotated: single use
            return self._tokens(grant) if grant else JSONResponse({"error": "invalid_grant"}, status_code=400)
        grant = self.codes.pop(str(form.get("code")), None)  # single use
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if grant["challenge"]:
            digest = hashlib.sha256(str(form.get("code_verifier", "")).encode()).digest()
            if base64.urlsafe_b64encode(digest).decode().rstrip("=") != grant["challenge"]:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
        return self._tokens(grant)

    def _tokens(self, grant: dict[str, Any]) -> Response:
        """The token answer; a refresh token (and the granted scope) when `offline_access` was asked for."""
        access = secrets.token_urlsafe(16)
        self.access[access] = grant["user"]
        answer = {"access_token": access, "token_type": "Bearer", "expires_in": self.expires_in,
                  "id_token": self.id_token(grant["user"], grant["nonce"]), "scope": grant["scope"]}
        if "offline_access" in grant["scope"].split():
            answer["refresh_token"] = secrets.token_urlsafe(16)
            self.refresh[answer["refresh_token"]] = grant
        return JSONResponse(answer)

    async def end_session(self, request: Request) -> Response:
        """RP-initiated logout: remembered, then back to post_logout_redirect_uri."""
        q = dict(request.query_params)
        self.end_session_requests.append(q)
        return redirect_to(q["post_logout_redirect_uri"]) if q.get("post_logout_redirect_uri") else Response("bye")

    def id_token(self, user: dict[str, Any] | None = None, nonce: str | None = None) -> str:
        """An id_token for `user` (default: the current one) as the token endpoint signs it, faults included;
        also what a native app would get from the provider's own SDK."""
        now = int(time.time())
        claims = {**(user or self.user), "iss": self._issuer(for_token=True), "aud": CLIENT_ID, "iat": now,
                  "exp": now + 300}
        if nonce:
            claims["nonce"] = nonce
        if self.tenant_id:
            claims["tid"] = "00000000-0000-4000-8000-000000000bad" if "tid_mismatch" in self.faults else self.tenant_id
        if "wrong_audience" in self.faults:
            claims["aud"] = "someone-else"
        if "expired" in self.faults:
            claims.update(iat=now - 3600, exp=now - 1800)
        if "no_nonce" in self.faults:
            claims.pop("nonce", None)
        return self.sign(claims)

    def sign(self, claims: dict[str, Any]) -> str:
        """The id_token for `claims`, signed with the key `jwks` publishes (unless faults say otherwise)."""
        key = _key("other" if "bad_signature" in self.faults else "good")
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})

    async def userinfo(self, request: Request) -> Response:
        user = self.access.get(request.headers.get("authorization", "")[7:])
        if not user:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({**user, **self.userinfo_extra})


class GitHubApi:
    """GitHub's OAuth2 endpoints and the two REST calls Kratos' github provider makes."""

    def __init__(self) -> None:
        self.user: dict[str, Any] = {"id": 4242, "login": "octo", "name": "Octo Cat", "avatar_url": None}
        self.emails: list[dict[str, Any]] = [
            {"email": "octo@example.com", "primary": True, "verified": True, "visibility": "public"},
            {"email": "old@example.com", "primary": False, "verified": True, "visibility": None}]
        self.orgs: list[str] = ["octo-org"]
        self.teams: list[str] = ["octo-org/platform"]  # org/team-slug
        self.codes: dict[str, str] = {}
        self.tokens: set[str] = set()
        self.base = ""

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/login/oauth/authorize", self.authorize),
            Route("/login/oauth/access_token", self.token, methods=["POST"]),
            Route("/user", self.get_user),
            Route("/user/emails", self.get_emails),
            Route("/user/orgs", self.get_orgs),
            Route("/user/teams", self.get_teams),
        ])

    async def authorize(self, request: Request) -> Response:
        q = dict(request.query_params)
        code = secrets.token_urlsafe(12)
        self.codes[code] = q.get("redirect_uri", "")
        return redirect_to(q["redirect_uri"], code=code, state=q.get("state", ""))

    async def token(self, request: Request) -> Response:
        form = dict(await request.form())
        if not client_ok(request, form):
            return JSONResponse({"error": "incorrect_client_credentials"})
        if self.codes.pop(str(form.get("code")), None) is None:
            return JSONResponse({"error": "bad_verification_code"})  # GitHub answers 200 with an error
        token = "gho_" + secrets.token_urlsafe(16)
        self.tokens.add(token)
        return JSONResponse({"access_token": token, "token_type": "bearer", "scope": "user:email"})

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization", "")[7:] in self.tokens

    async def get_user(self, request: Request) -> Response:
        return JSONResponse(self.user) if self._authorized(request) else JSONResponse({}, status_code=401)

    async def get_orgs(self, request: Request) -> Response:
        if not self._authorized(request):
            return JSONResponse({}, status_code=401)
        return JSONResponse([{"login": org, "id": i} for i, org in enumerate(self.orgs)])

    async def get_teams(self, request: Request) -> Response:
        if not self._authorized(request):
            return JSONResponse({}, status_code=401)
        return JSONResponse([{"slug": t.split("/")[1], "organization": {"login": t.split("/")[0]}}
                             for t in self.teams])

    async def get_emails(self, request: Request) -> Response:
        return JSONResponse(self.emails) if self._authorized(request) else JSONResponse({}, status_code=401)
