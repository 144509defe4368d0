"""Every access handler gatekeeper knows, by kind and name (Oathkeeper's handler names): the one written list
the rule compiler, `config check` and the rule tools read. Adding a handler is adding its module and one line here."""

from __future__ import annotations

from collections.abc import Mapping

from gatekeeper.access.authn.anonymous import Anonymous, AnonymousConfig
from gatekeeper.access.authn.bearer_token import BearerToken, BearerTokenConfig
from gatekeeper.access.authn.client_credentials import ClientCredentials, ClientCredentialsConfig
from gatekeeper.access.authn.cookie_session import CookieSession, CookieSessionConfig
from gatekeeper.access.authn.introspection import Introspection, IntrospectionConfig
from gatekeeper.access.authn.jwt import Jwt, JwtConfig
from gatekeeper.access.authn.noop import NoopAuthenticator
from gatekeeper.access.authn.unauthorized import AlwaysUnauthorized
from gatekeeper.access.authz.allow import Allow
from gatekeeper.access.authz.deny import Deny
from gatekeeper.access.authz.expression import Expression, ExpressionConfig
from gatekeeper.access.authz.remote import Remote, RemoteConfig
from gatekeeper.access.authz.remote_json import RemoteJson, RemoteJsonConfig
from gatekeeper.access.errors.json import Json, JsonConfig
from gatekeeper.access.errors.redirect import Redirect, RedirectConfig
from gatekeeper.access.errors.www_authenticate import WwwAuthenticate, WwwAuthenticateConfig
from gatekeeper.access.handlers import HandlerType, NoConfig
from gatekeeper.access.mutate.cookie import Cookie, CookieConfig
from gatekeeper.access.mutate.header import Header, HeaderConfig
from gatekeeper.access.mutate.hydrator import Hydrator, HydratorConfig
from gatekeeper.access.mutate.id_token import IdToken, IdTokenConfig
from gatekeeper.access.mutate.noop import NoopMutator

HANDLERS: Mapping[str, Mapping[str, HandlerType]] = {
    "authenticators": {
        "anonymous": HandlerType(AnonymousConfig, Anonymous),
        "bearer_token": HandlerType(BearerTokenConfig, BearerToken),
        "cookie_session": HandlerType(CookieSessionConfig, CookieSession),
        "jwt": HandlerType(JwtConfig, Jwt),
        "noop": HandlerType(NoConfig, NoopAuthenticator),
        "oauth2_client_credentials": HandlerType(ClientCredentialsConfig, ClientCredentials),
        "oauth2_introspection": HandlerType(IntrospectionConfig, Introspection),
        "unauthorized": HandlerType(NoConfig, AlwaysUnauthorized),
    },
    "authorizers": {
        "allow": HandlerType(NoConfig, Allow),
        "deny": HandlerType(NoConfig, Deny),
        "expression": HandlerType(ExpressionConfig, Expression),
        "remote": HandlerType(RemoteConfig, Remote),
        "remote_json": HandlerType(RemoteJsonConfig, RemoteJson),
    },
    "mutators": {
        "cookie": HandlerType(CookieConfig, Cookie),
        "header": HandlerType(HeaderConfig, Header),
        "hydrator": HandlerType(HydratorConfig, Hydrator),
        "id_token": HandlerType(IdTokenConfig, IdToken),
        "noop": HandlerType(NoConfig, NoopMutator),
    },
    "errors": {
        "json": HandlerType(JsonConfig, Json),
        "redirect": HandlerType(RedirectConfig, Redirect),
        "www_authenticate": HandlerType(WwwAuthenticateConfig, WwwAuthenticate),
    },
}
