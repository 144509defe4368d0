"""Kratos' sections: `selfservice`, `identity`, `session`, `hashers`, `courier`.

Every `selfservice.flows.*` and `selfservice.methods.*` block is a typed frozen dataclass carrying
Kratos' defaults, so environment overrides (`SELFSERVICE_FLOWS_LOGIN_LIFESPAN=10m`) resolve to a type.
Empty `ui_url`s are filled at start-up with the built-in UI under the public base URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gatekeeper.config.types import Duration
from gatekeeper.config.webauthn import PasskeyMethod, WebauthnMethod

HOUR = Duration(3600.0)


@dataclass(frozen=True)
class Hook:
    """One entry of a `hooks` list (`session`, `web_hook`, `show_verification_ui`, ...)."""

    hook: str
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodAfter:
    default_browser_return_url: str = ""
    hooks: tuple[Hook, ...] = ()


@dataclass(frozen=True)
class After:
    """`after`: global return URL and hooks, overridden per method (a non-empty method list replaces)."""

    default_browser_return_url: str = ""
    hooks: tuple[Hook, ...] = ()
    password: MethodAfter = field(default_factory=MethodAfter)
    profile: MethodAfter = field(default_factory=MethodAfter)
    oidc: MethodAfter = field(default_factory=MethodAfter)
    code: MethodAfter = field(default_factory=MethodAfter)
    totp: MethodAfter = field(default_factory=MethodAfter)
    lookup_secret: MethodAfter = field(default_factory=MethodAfter)
    webauthn: MethodAfter = field(default_factory=MethodAfter)
    passkey: MethodAfter = field(default_factory=MethodAfter)
    saml: MethodAfter = field(default_factory=MethodAfter)

    def for_method(self, method: str) -> MethodAfter:
        """Return URL and hooks for `method`, falling back to the global ones."""
        specific: MethodAfter = getattr(self, method, MethodAfter())
        return MethodAfter(
            default_browser_return_url=specific.default_browser_return_url or self.default_browser_return_url,
            hooks=specific.hooks or self.hooks,
        )


@dataclass(frozen=True)
class Before:
    hooks: tuple[Hook, ...] = ()


@dataclass(frozen=True)
class Throttling:
    """gatekeeper's login throttling: attempts per window, counted in the store (shared by replicas).

    Per canonical identifier (guessing one account) and per client address (spraying many; set generously:
    offices share NAT addresses). 0 disables a limit."""

    window: Duration = Duration(900.0)
    per_identifier: int = 10
    per_ip: int = 500


@dataclass(frozen=True)
class LoginFlow:
    ui_url: str = ""
    lifespan: Duration = HOUR
    style: Literal["unified", "identifier_first"] = "unified"
    before: Before = field(default_factory=Before)
    after: After = field(default_factory=After)
    throttling: Throttling = field(default_factory=Throttling)


@dataclass(frozen=True)
class RegistrationFlow:
    enabled: bool = True
    ui_url: str = ""
    lifespan: Duration = HOUR
    style: Literal["profile_first", "unified"] = "profile_first"
    enable_legacy_one_step: bool = False
    login_hints: bool = False
    before: Before = field(default_factory=Before)
    after: After = field(default_factory=After)

    @property
    def one_step(self) -> bool:
        return self.enable_legacy_one_step or self.style == "unified"


@dataclass(frozen=True)
class SettingsFlow:
    ui_url: str = ""
    lifespan: Duration = HOUR
    privileged_session_max_age: Duration = HOUR
    required_aal: Literal["highest_available", "aal1"] = "highest_available"
    before: Before = field(default_factory=Before)
    after: After = field(default_factory=After)


@dataclass(frozen=True)
class AddressFlow:
    """Recovery and verification share their shape."""

    enabled: bool = False
    ui_url: str = ""
    lifespan: Duration = HOUR
    use: Literal["code", "link"] = "code"
    notify_unknown_recipients: bool = False
    before: Before = field(default_factory=Before)
    after: After = field(default_factory=After)


@dataclass(frozen=True)
class ErrorFlow:
    ui_url: str = ""


@dataclass(frozen=True)
class LogoutFlow:
    after: MethodAfter = field(default_factory=MethodAfter)


@dataclass(frozen=True)
class Flows:
    login: LoginFlow = field(default_factory=LoginFlow)
    registration: RegistrationFlow = field(default_factory=RegistrationFlow)
    settings: SettingsFlow = field(default_factory=SettingsFlow)
    recovery: AddressFlow = field(default_factory=AddressFlow)
    verification: AddressFlow = field(default_factory=AddressFlow)
    error: ErrorFlow = field(default_factory=ErrorFlow)
    logout: LogoutFlow = field(default_factory=LogoutFlow)


@dataclass(frozen=True)
class PasswordConfig:
    haveibeenpwned_enabled: bool = True
    haveibeenpwned_host: str = "api.pwnedpasswords.com"
    max_breaches: int = 0
    ignore_network_errors: bool = True
    min_password_length: int = 8
    identifier_similarity_check_enabled: bool = True


@dataclass(frozen=True)
class PasswordMethod:
    enabled: bool = True
    config: PasswordConfig = field(default_factory=PasswordConfig)


@dataclass(frozen=True)
class Method:
    """A method with no typed config here (profile, code, totp, lookup_secret, link, saml): its switch and raw
    config block."""

    enabled: bool = False
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OidcProvider:
    """One `selfservice.methods.oidc.config.providers[]` entry (Kratos' provider config keys).

    `issuer_url` also moves the fixed endpoints of `google` (its issuer), `microsoft` (the login host before
    `/<tenant>/v2.0`) and `github` (the API base, e.g. GitHub Enterprise's `https://ghe.example.com/api/v3`)."""

    id: str
    provider: Literal["generic", "oauth2", "amazon", "apple", "auth0", "dingtalk", "discord", "facebook", "github",
                      "github-app", "gitlab", "google", "lark", "line", "linkedin", "linkedin_v2", "microsoft",
                      "netid", "patreon", "salesforce", "slack", "spotify", "vk", "x", "yandex"]
    client_id: str
    client_secret: str = ""
    label: str = ""
    issuer_url: str = ""
    auth_url: str = ""
    token_url: str = ""
    mapper_url: str = ""
    scope: tuple[str, ...] = ()
    microsoft_tenant: str = "common"
    subject_source: Literal["id", "userinfo", "me"] = "id"
    requested_claims: Mapping[str, Any] = field(default_factory=dict)
    claims_source: Literal["id_token", "userinfo"] = "id_token"
    pkce: Literal["auto", "force", "never"] = "auto"
    additional_id_token_audiences: tuple[str, ...] = ()
    update_identity_on_login: Literal["never", "automatic"] = "never"
    userinfo_url: str = ""  # gatekeeper's `oauth2` provider: where the user's claims are read
    apple_team_id: str = ""
    apple_private_key_id: str = ""
    apple_private_key: str = ""
    github_organizations: tuple[str, ...] = ()  # oauth2-proxy's --github-org, as a provider option
    github_teams: tuple[str, ...] = ()  # "org/team-slug"
    google_hosted_domains: tuple[str, ...] = ()  # Google Workspace domains (the id_token's `hd` claim)
    rp_initiated_logout: bool = False  # logout also ends the session at the provider (end_session_endpoint)


@dataclass(frozen=True)
class OidcConfig:
    providers: tuple[OidcProvider, ...] = ()
    base_redirect_uri: str = ""


@dataclass(frozen=True)
class OidcMethod:
    enabled: bool = False
    config: OidcConfig = field(default_factory=OidcConfig)


def _on() -> Method:
    return Method(enabled=True)


@dataclass(frozen=True)
class CodeMethod:
    """`selfservice.methods.code`: recovery and verification codes; `passwordless_enabled` adds sign-in and sign-up
    with a code, `mfa_enabled` a code as second factor (Kratos' switches, next to `enabled`)."""

    enabled: bool = True
    passwordless_enabled: bool = False
    mfa_enabled: bool = False
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Methods:
    password: PasswordMethod = field(default_factory=PasswordMethod)
    profile: Method = field(default_factory=_on)
    code: CodeMethod = field(default_factory=CodeMethod)
    totp: Method = field(default_factory=Method)
    lookup_secret: Method = field(default_factory=Method)
    link: Method = field(default_factory=Method)
    oidc: OidcMethod = field(default_factory=OidcMethod)
    webauthn: WebauthnMethod = field(default_factory=WebauthnMethod)
    passkey: PasskeyMethod = field(default_factory=PasskeyMethod)
    saml: Method = field(default_factory=Method)


@dataclass(frozen=True)
class Selfservice:
    default_browser_return_url: str = ""
    allowed_return_urls: tuple[str, ...] = ()
    flows: Flows = field(default_factory=Flows)
    methods: Methods = field(default_factory=Methods)


@dataclass(frozen=True)
class SchemaRef:
    id: str
    url: str


@dataclass(frozen=True)
class Identity:
    default_schema_id: str = "default"
    schemas: tuple[SchemaRef, ...] = ()


@dataclass(frozen=True)
class SessionCookie:
    name: str = "ory_kratos_session"
    domain: str = ""
    path: str = "/"
    persistent: bool = True
    same_site: Literal["Lax", "Strict", "None"] = "Lax"
    secure: bool | None = None


@dataclass(frozen=True)
class Cookies:
    """Kratos' `cookies`: defaults for the session (and CSRF) cookie that `session.cookie` may override."""

    domain: str | None = None
    path: str | None = None
    same_site: Literal["Lax", "Strict", "None"] | None = None
    secure: bool | None = None


@dataclass(frozen=True)
class TokenizerTemplate:
    """`session.whoami.tokenizer.templates.<name>`: how `GET /sessions/whoami?tokenize_as=<name>` signs a JWT."""

    jwks_url: str
    ttl: Duration = Duration(60.0)
    claims_mapper_url: str = ""
    subject_source: Literal["id", "external_id"] = "id"


@dataclass(frozen=True)
class Tokenizer:
    templates: dict[str, TokenizerTemplate] = field(default_factory=dict)


@dataclass(frozen=True)
class Whoami:
    required_aal: Literal["highest_available", "aal1"] = "highest_available"
    tokenizer: Tokenizer = field(default_factory=Tokenizer)


@dataclass(frozen=True)
class Session:
    lifespan: Duration = Duration(24 * 3600.0)
    earliest_possible_extend: Duration | None = None
    cookie: SessionCookie = field(default_factory=SessionCookie)
    whoami: Whoami = field(default_factory=Whoami)
    cache_ttl: Duration = Duration(5.0)
    cache_size: int = 100_000


@dataclass(frozen=True)
class Argon2:
    """Kratos' argon2 defaults; `memory` is a byte size (`128MB`, `64KB`)."""

    memory: str = "128MB"
    iterations: int = 1
    parallelism: int = 0  # 0: 2 x CPUs, as Kratos
    salt_length: int = 16
    key_length: int = 32
    expected_duration: Duration = Duration(0.5)
    expected_deviation: Duration = Duration(0.5)
    dedicated_memory: str = "1GB"


@dataclass(frozen=True)
class Bcrypt:
    cost: int = 12


@dataclass(frozen=True)
class Hashers:
    """`hashers.*`; `threads` (gatekeeper) bounds the hashing pool (0: CPUs - 1, at least 1)."""

    algorithm: Literal["bcrypt", "argon2"] = "bcrypt"
    argon2: Argon2 = field(default_factory=Argon2)
    bcrypt: Bcrypt = field(default_factory=Bcrypt)
    threads: int = 0


@dataclass(frozen=True)
class Courier:
    smtp: Mapping[str, Any] = field(default_factory=dict)
    message_retries: int = 5
    template_override_path: str = ""
