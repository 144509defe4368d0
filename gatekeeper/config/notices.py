"""Keys of Kratos' and Oathkeeper's config schemas that mean nothing in gatekeeper (or not yet).

An Ory config file must load unchanged, so these keys are accepted, and each is named once in a startup
warning (and by `config check`) with the reason: `NO_EFFECT` keys are taken out before the typed config is
built; `WHEN_ENABLED` sections stay (gatekeeper has their shape) and are named only when switched on.
Paths are dotted; `*` stands for any list index or mapping key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gatekeeper.config.problems import ConfigProblem
from gatekeeper.yamlpos import Source, join

_CLI_FLAG = "a command-line flag in Kratos, not a config key: no effect here"
_ISSUE_18 = "provider-specific key not implemented yet: no effect"
_ORY_NETWORK = "an Ory Network feature: no effect in gatekeeper"
_TLS = "gatekeeper serves plain HTTP: terminate TLS in front of it (ingress, load balancer or service mesh)"
_SOCKET = "gatekeeper listens on TCP only: no effect"

NO_EFFECT: Mapping[str, str] = {
    # Kratos v25.4
    "ciphers": "gatekeeper seals stored provider tokens with Fernet (AES-128-CBC + HMAC-SHA256, keys from "
               "`secrets.cipher`) whatever is named here",
    "clients": "outgoing HTTP client settings (private IP range blocking, web hook header allow-list) "
               "are not implemented: no effect",
    "courier.http": "e-mail goes out over SMTP only (HTTP channels carry SMS: `courier.channels`): no effect",
    "enterprise": _ORY_NETWORK,
    "feature_flags": "gatekeeper always behaves as Kratos v25.4 with its default flags (continue_with "
                     "transitions on), except that a refresh login with codes always offers the identity's "
                     "addresses (later Kratos' refresh_login_choose_address): no effect",
    "identity.schemas.*.selfservice_selectable": _ORY_NETWORK,
    "log.redaction_text": "gatekeeper never logs cookies, tokens, passwords or secrets, so redacts nothing: "
                          "no effect",
    "log.additional_redacted_headers": "gatekeeper logs no request headers: no effect",
    "oauth2_provider": "the Ory Hydra integration has no meaning without Hydra: no effect",
    "organizations": _ORY_NETWORK,
    "preview": _ORY_NETWORK,
    "revision": "no /health/config endpoint here: no effect",
    "security": "gatekeeper never reveals whether an account exists, whatever is set here: no effect",
    "selfservice.methods.b2b": _ORY_NETWORK,
    "selfservice.methods.oidc.config.providers.*.fedcm_config_url": _ISSUE_18,
    "selfservice.methods.oidc.config.providers.*.net_id_token_origin_header": _ISSUE_18,
    "selfservice.methods.oidc.config.providers.*.organization_id": _ORY_NETWORK,
    "selfservice.methods.password.config.migrate_hook": "password migration web hooks are not implemented: "
                                                        "no effect",
    "selfservice.methods.webauthn.config.rp.icon": "WebAuthn Level 2 dropped the RP icon and browsers ignore it: "
                                                   "no effect",
    "serve.admin.socket": _SOCKET,
    "serve.public.socket": _SOCKET,
    "serve.admin.tls": _TLS,
    "serve.public.tls": _TLS,
    "sqa-opt-out": "gatekeeper sends no usage statistics: no effect",
    "config": _CLI_FLAG,
    "help": _CLI_FLAG,
    "watch-courier": _CLI_FLAG,
    "expose-metrics-port": _CLI_FLAG,
    # Oathkeeper v26.2
    "authorizers.keto_engine_acp_ory": "Keto's ORY Access Control Policy engine was removed in Keto v0.6: rules "
                                       "naming this authorizer do not load; use remote_json against Keto's "
                                       "/relation-tuples/check",
    "profiling": "no Go profiler here (bench/ profiles with py-spy): no effect",
    "serve.api.tls": _TLS,
    "serve.proxy.tls": _TLS,
    "serve.prometheus.collapse_request_paths": "gatekeeper's request metrics are labelled by rule id, "
                                               "never by path: no effect",
    "serve.prometheus.hide_request_paths": "gatekeeper's request metrics are labelled by rule id, "
                                           "never by path: no effect",
    "serve.prometheus.metric_name_prefix": "metric names are fixed (docs/operations.md lists them beside Ory's): "
                                           "no effect",
}


WHEN_ENABLED: Mapping[str, str] = {
    "serve.api.cors": "CORS is not applied on the api listener yet: no effect",
    "serve.admin.cors": "CORS is not applied on the admin listener (keep it cluster-internal): no effect",
    "selfservice.methods.saml": "SAML is " + _ORY_NETWORK,
}


def no_effect_notices(data: dict[str, Any], source: Source) -> list[ConfigProblem]:
    """Remove every `NO_EFFECT` key from `data` and find the `WHEN_ENABLED` sections switched on; one notice
    per key, in file order."""
    notices: list[ConfigProblem] = []
    for pattern, reason in NO_EFFECT.items():
        for path in _take(data, pattern.split("."), ""):
            notices.append(ConfigProblem(source.file(path), source.line(path), path, reason))
    for path, reason in WHEN_ENABLED.items():
        section = _at(data, path.split("."))
        if isinstance(section, dict) and str(section.get("enabled")).lower() in ("true", "1"):
            notices.append(ConfigProblem(source.file(path), source.line(path), path, reason))
    notices.sort(key=lambda n: (n.file, n.line or 0))
    return notices


def _take(node: Any, parts: list[str], at: str) -> list[str]:
    head, rest = parts[0], parts[1:]
    if isinstance(node, list) and head == "*":
        items: list[tuple[str | int, Any]] = list(enumerate(node))
    elif isinstance(node, dict):
        items = list(node.items()) if head == "*" else [(head, node[head])] if head in node else []
    else:
        return []
    found: list[str] = []
    for key, child in items:
        path = join(at, key)
        if rest:
            found += _take(child, rest, path)
        else:
            del node[key]  # never a list here: every pattern ends on a mapping key
            found.append(path)
    return found


def _at(node: Any, parts: list[str]) -> Any:
    for part in parts:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node
