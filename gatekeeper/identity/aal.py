"""Authenticator assurance levels (Kratos' AAL rules): which methods count for which level, what an identity
could reach, the errors that ask for a second factor or a fresh login, and upgrading a session in place.

    session AAL:   aal2 when its methods hold an aal1 and an aal2 method; aal1 with aal1 methods only
    available AAL: aal2 when the identity has a second factor (TOTP, unused lookup codes, a security key
                   that is not passwordless; with `selfservice.methods.code.mfa_enabled`, an address to send a
                   code to)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from gatekeeper.errors import Forbidden
from gatekeeper.identity.identities import rfc3339
from gatekeeper.identity.webauthn.credentials import keys
from gatekeeper.store.identities import IdentityRecord
from gatekeeper.store.sessions import SessionRecord

if TYPE_CHECKING:
    from gatekeeper.identity.context import IdentityContext

SECOND_FACTORS = ("totp", "lookup_secret", "webauthn")
_AAL2_METHODS = frozenset(SECOND_FACTORS)


def method_aal(method: str) -> str:
    return "aal2" if method in _AAL2_METHODS else "aal1"


def aal_of(methods: list[dict[str, Any]]) -> str:
    levels = {m.get("aal") for m in methods}
    if "aal1" in levels and "aal2" in levels:
        return "aal2"
    return "aal1" if "aal1" in levels else "aal0"


def code_addresses(ident: IdentityRecord) -> list[tuple[str, str]]:
    """(channel, address) a code can be sent to as second factor: the `code` credential's addresses, else the
    verifiable e-mail addresses and phone numbers (Kratos' fallback for identities without that credential)."""
    cred = ident.credentials.get("code")
    listed = [(str(a.get("channel", "email")), str(a["address"])) for a in (cred.config or {}).get("addresses", [])
              if a.get("address")] if cred is not None else []
    if not listed:
        listed = [(a.via, a.value) for a in ident.addresses if a.kind == "verifiable" and a.via in ("email", "sms")]
    return sorted(set(listed), key=lambda a: (a[1], a[0]))


def has_second_factor(ident: IdentityRecord, method: str) -> bool:
    if method == "code":
        return bool(code_addresses(ident))
    cred = ident.credentials.get(method)
    if cred is None:
        return False
    if method == "lookup_secret":
        return any(not c.get("used_at") for c in (cred.config or {}).get("recovery_codes", []))
    if method == "webauthn":  # security keys set up as a second factor (not passwordless ones)
        return any(not key.passwordless for key in keys(cred.config))
    return bool((cred.config or {}).get("totp_url"))


def available_aal(ident: IdentityRecord, *, code_mfa: bool = False) -> str:
    """`code_mfa`: codes count as a second factor (`selfservice.methods.code.mfa_enabled`)."""
    methods = (*SECOND_FACTORS, "code") if code_mfa else SECOND_FACTORS
    return "aal2" if any(has_second_factor(ident, m) for m in methods) else "aal1"


def login_url(base: str, *, return_to: str | None = None, **params: str) -> str:
    query = dict(params)
    if return_to:
        query["return_to"] = return_to
    return f"{base}/self-service/login/browser?{urlencode(query)}"


class Aal2Required(Forbidden):
    """The session is aal1 but the identity could (and must) reach aal2."""

    id = "session_aal2_required"

    def __init__(self, redirect_browser_to: str) -> None:
        super().__init__(reason="An active session was found but it does not fulfill the Authenticator Assurance "
                                "Level, implying that the session must first be upgraded to a higher AAL (e.g. "
                                "by completing the second factor).",
                         details={"redirect_browser_to": redirect_browser_to})
        self.extra = {"redirect_browser_to": redirect_browser_to}
        self.browser_redirect = redirect_browser_to


class SessionRefreshRequired(Forbidden):
    """The change needs a privileged session: one authenticated within `privileged_session_max_age`."""

    id = "session_refresh_required"

    def __init__(self, redirect_browser_to: str) -> None:
        super().__init__(reason="The login session is too old and thus not allowed to update these fields. Please "
                                "re-authenticate.")
        self.extra = {"redirect_browser_to": redirect_browser_to}
        self.browser_redirect = redirect_browser_to


def require_aal(required: str, session: SessionRecord, ident: IdentityRecord, base: str,
                return_to: str | None = None, *, code_mfa: bool = False) -> None:
    """`highest_available`: an aal1 session of an identity with a second factor must step up first."""
    if required == "highest_available" and session.aal != "aal2" \
            and available_aal(ident, code_mfa=code_mfa) == "aal2":
        raise Aal2Required(login_url(base, aal="aal2", return_to=return_to))


def privileged(session: SessionRecord, max_age: float, now: datetime | None = None) -> bool:
    return ((now or datetime.now(UTC)) - session.authenticated_at).total_seconds() <= max_age


async def complete_method(ctx: IdentityContext, session: SessionRecord, method: str, *,
                          reauthenticated: bool = False, aal: str | None = None) -> SessionRecord:
    """Record a method completed on an existing session: a second factor (aal1 -> aal2) or, with
    `reauthenticated`, a refresh login (new `authenticated_at`, the AAL kept). The cached lookup is dropped."""
    now = datetime.now(UTC)
    completed = {"method": method, "aal": aal or method_aal(method), "completed_at": rfc3339(now)}
    session.authentication_methods = [*session.authentication_methods, completed]
    session.aal = aal_of(session.authentication_methods)
    session.updated_at = now
    if reauthenticated:
        session.authenticated_at = now
    await ctx.store.update_session_authentication(session.id, session.aal, session.authentication_methods,
                                                  session.authenticated_at, now)
    ctx.sessions.forget(session.token_hash)
    return session
