"""Typed, frozen configuration loaded once from YAML plus environment overrides.

`load_config` returns a `Config` or raises `ConfigError` listing every problem with file, line and
key path. Nothing downstream reads raw dicts, except handler `config` blocks, which handlers
validate with `convert.build` when rules are compiled.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeAlias

from gatekeeper.config.access import AccessRules, Errors, HandlerSection
from gatekeeper.config.convert import build
from gatekeeper.config.courier import Courier, check_courier
from gatekeeper.config.database import Database, check_database
from gatekeeper.config.dsn import Dsn
from gatekeeper.config.env import apply_env
from gatekeeper.config.identity import Cookies, Hashers, Identity, Selfservice, Session
from gatekeeper.config.notices import no_effect_notices
from gatekeeper.config.permissions import Limit, Namespaces, build_namespaces, check_limit
from gatekeeper.config.problems import ConfigError, ConfigProblem
from gatekeeper.config.serve import Log, Secrets, Serve, check_upstream
from gatekeeper.config.tracing import Tracing, check_tracing
from gatekeeper.config.types import Duration, Secret
from gatekeeper.config.webauthn import check_webauthn
from gatekeeper.yamlpos import Source, YamlError, load, overlay

__all__ = ["Config", "ConfigError", "ConfigPaths", "ConfigProblem", "Duration", "Secret", "load_config",
           "parse_config", "parse_documents"]

log = logging.getLogger("gatekeeper.config")

DEFAULT_DSN = "sqlite://./var/gatekeeper.db?_fk=true"
ConfigPaths: TypeAlias = "str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None"
LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "fatal", "panic")


@dataclass(frozen=True)
class Config:
    """The whole configuration; sections named as in Kratos and Oathkeeper."""

    version: str = ""
    dsn: str = DEFAULT_DSN
    dev: bool = False
    serve: Serve = field(default_factory=Serve)
    log: Log = field(default_factory=Log)
    secrets: Secrets = field(default_factory=Secrets)
    selfservice: Selfservice = field(default_factory=Selfservice)
    identity: Identity = field(default_factory=Identity)
    session: Session = field(default_factory=Session)
    cookies: Cookies = field(default_factory=Cookies)
    hashers: Hashers = field(default_factory=Hashers)
    courier: Courier = field(default_factory=Courier)
    access_rules: AccessRules = field(default_factory=AccessRules)
    authenticators: Mapping[str, HandlerSection] = field(default_factory=dict)
    authorizers: Mapping[str, HandlerSection] = field(default_factory=dict)
    mutators: Mapping[str, HandlerSection] = field(default_factory=dict)
    errors: Errors = field(default_factory=Errors)
    database: Database = field(default_factory=Database)
    tracing: Tracing = field(default_factory=Tracing)
    namespaces: Namespaces = None  # typed by build_namespaces (convert leaves a union of two shapes raw)
    limit: Limit = field(default_factory=Limit)
    source: Source = field(default_factory=lambda: Source("<defaults>"), compare=False, repr=False)
    notices: tuple[ConfigProblem, ...] = field(default=(), compare=False, repr=False)

    @property
    def store_dsn(self) -> Dsn:
        """`dsn`, parsed (the `database` key is Kratos' section of database settings)."""
        return Dsn.parse(self.dsn)

    @property
    def cookie_secrets(self) -> tuple[Secret, ...]:
        """Secrets for cookies and CSRF: `secrets.cookie`, falling back to `secrets.default` as Kratos."""
        return self.secrets.cookie or self.secrets.default

    @property
    def cipher_secrets(self) -> tuple[Secret, ...]:
        return self.secrets.cipher or self.secrets.default


def load_config(paths: ConfigPaths, *, env: Mapping[str, str] | None = None, dev: bool = False,
                secrets_needed: bool = True) -> Config:
    """Read the config file(s) (defaults only when None), apply environment overrides and validate.

    Several files are merged in order, as Kratos' `-c a.yml -c b.yml`: a later file's mappings merge into the
    earlier ones key by key, its other values replace. `secrets_needed=False` (migrations) neither requires
    nor generates secrets.
    """
    files = [] if paths is None else [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    documents: list[tuple[str, str]] = []
    for file in map(Path, files):
        try:
            documents.append((file.read_text(encoding="utf-8"), str(file)))
        except OSError as exc:
            raise ConfigError([ConfigProblem(str(file), None, "", f"cannot read: {exc.strerror}")]) from None
    return parse_documents(documents or [("", "<defaults>")], env=env, dev=dev, secrets_needed=secrets_needed)


def parse_config(text: str, *, name: str, env: Mapping[str, str] | None = None, dev: bool = False,
                 secrets_needed: bool = True) -> Config:
    """Validate a config document given as text."""
    return parse_documents([(text, name)], env=env, dev=dev, secrets_needed=secrets_needed)


def parse_documents(documents: Sequence[tuple[str, str]], *, env: Mapping[str, str] | None = None,
                    dev: bool = False, secrets_needed: bool = True) -> Config:
    """Validate config documents given as (text, name), merged in order (what `gatekeeper config check` runs)."""
    problems: list[ConfigProblem] = []
    merged: tuple[Any, Source] | None = None
    for text, name in documents:
        try:
            data, source = load(text, name)
        except YamlError as exc:
            raise ConfigError([ConfigProblem(exc.name, exc.line, "", exc.message)]) from None
        if data is not None and not isinstance(data, dict):
            raise ConfigError([ConfigProblem(name, 1, "", "expected a mapping of config keys at the top level")])
        for path, line, first in source.duplicates:
            problems.append(ConfigProblem(name, line, path, f"duplicate key (first set on line {first})"))
        merged = (data or {}, source) if merged is None else overlay(merged, (data, source))
    assert merged is not None, "at least one document"
    data, source = merged
    env_paths = apply_env(Config, data, os.environ if env is None else env)
    notices = no_effect_notices(data, source)
    config = build(Config, data, at="", source=source, problems=problems)
    config = replace(config, namespaces=build_namespaces(data.get("namespaces"), source, problems))
    config = _with_cookie_defaults(_with_prometheus_listener(config), explicit={*source.lines, *env_paths})
    if dev and not config.dev:
        config = replace(config, dev=True)
    _check(config, source, problems, secrets_needed=secrets_needed)
    if problems:
        problems.sort(key=lambda p: (p.line is None, p.line or 0))
        raise ConfigError([_blame_env(p, env_paths) for p in problems])
    config = replace(config, source=source, notices=tuple(_blame_env(n, env_paths) for n in notices))
    return _with_dev_secrets(config) if secrets_needed else config


def _with_cookie_defaults(config: Config, *, explicit: set[str]) -> Config:
    """Kratos' `cookies.{domain,path,same_site,secure}` apply to the session cookie where `session.cookie`
    does not set its own value (the CSRF cookie follows the session cookie's domain and SameSite here)."""
    given = {key: value for key, value in vars(config.cookies).items() if value is not None
             and f"session.cookie.{key}" not in explicit}
    if not given:
        return config
    session = replace(config.session, cookie=replace(config.session.cookie, **given))
    return replace(config, session=session)


def _with_prometheus_listener(config: Config) -> Config:
    """Oathkeeper's `serve.prometheus.{host,port}` set the metrics listener (`serve.metrics`)."""
    prometheus = config.serve.prometheus
    if prometheus is None:
        return config
    metrics = config.serve.metrics
    moved = replace(metrics, host=metrics.host if prometheus.host is None else prometheus.host,
                    port=metrics.port if prometheus.port is None else prometheus.port)
    return replace(config, serve=replace(config.serve, metrics=moved))


def _blame_env(problem: ConfigProblem, env_paths: Mapping[str, str]) -> ConfigProblem:
    for path, var in env_paths.items():
        if problem.path == path or problem.path.startswith(path + "."):
            return replace(problem, file=f"environment variable {var}", line=None)
    return problem


def _check(config: Config, source: Source, out: list[ConfigProblem], *, secrets_needed: bool) -> None:
    """Checks across keys; a key that already failed its type check (now None) is not checked again."""
    blamed = [p.path for p in out]

    def add(path: str, message: str) -> None:
        if not any(path == b or path.startswith(b + ".") or b.startswith(path + ".") for b in blamed):
            out.append(ConfigProblem(source.file(path), source.line(path), path, message))

    if isinstance(config.dsn, str):
        try:
            Dsn.parse(config.dsn)
        except ValueError as exc:
            add("dsn", str(exc))
    cookie = tuple(s for s in config.cookie_secrets if s is not None)
    if secrets_needed and not config.dev and not cookie:
        add("secrets.cookie", "is required outside --dev (at least one secret of 16 or more characters)")
    for key in ("default", "cookie"):
        for i, secret in enumerate(getattr(config.secrets, key)):
            if secret is not None and len(secret.value) < 16:
                add(f"secrets.{key}.{i}", "must be at least 16 characters long")
    for i, secret in enumerate(config.secrets.cipher):
        if secret is not None and len(secret.value) != 32:
            add(f"secrets.cipher.{i}", f"must be exactly 32 characters long, got {len(secret.value)}")
    if config.log.format is not None and config.log.format not in ("json", "text"):
        add("log.format", f"expected 'json' or 'text', got {config.log.format!r}")
    if config.log.level is not None and config.log.level.lower() not in LOG_LEVELS:
        add("log.level", f"expected one of debug, info, warn, error, got {config.log.level!r}")
    prefix = config.serve.proxy.identity_prefix
    if prefix is not None and (not prefix.startswith("/") or prefix.endswith("/") or len(prefix) < 2):
        add("serve.proxy.identity_prefix", f"expected a path like /.auth, got {prefix!r}")
    for listener in ("proxy", "public", "admin", "api", "metrics"):
        port = getattr(config.serve, listener).port
        if port is not None and not 0 <= port <= 65535:
            add(f"serve.{listener}.port", f"expected a port between 0 and 65535, got {port}")
    prometheus = config.serve.prometheus
    if prometheus is not None and prometheus.metrics_path not in (None, "/metrics"):
        add("serve.prometheus.metrics_path", f"gatekeeper serves metrics at /metrics, got {prometheus.metrics_path!r}")
    if config.serve.shutdown_timeout is not None and config.serve.shutdown_timeout < 0:
        add("serve.shutdown_timeout", "must not be negative")
    if config.serve.keep_alive_timeout is not None and config.serve.keep_alive_timeout < 0:
        add("serve.keep_alive_timeout", "must not be negative")
    if config.session.cache_size is not None and config.session.cache_size < 1:
        add("session.cache_size", f"expected at least 1, got {config.session.cache_size}")
    workers = config.serve.workers
    if workers != "auto" and (not isinstance(workers, int) or isinstance(workers, bool) or not 1 <= workers <= 512):
        add("serve.workers", f"expected auto or a number of processes between 1 and 512, got {workers!r}")
    limits = config.serve.limits
    for key, low, high in (("max_request_line", 256, 1 << 20), ("max_header_count", 10, 10_000),
                           ("max_header_bytes", 1024, 1 << 20)):
        value = getattr(limits, key)
        if value is not None and not low <= value <= high:
            add(f"serve.limits.{key}", f"expected a number between {low} and {high}, got {value}")
    check_upstream(config.serve.proxy.upstream, add)
    check_courier(config.courier, add)
    methods = config.selfservice.methods
    check_webauthn(methods.passkey, methods.webauthn, add)
    check_database(config.database, add)
    check_tracing(config.tracing, add)
    check_limit(config.limit, add)


def _with_dev_secrets(config: Config) -> Config:
    if config.cookie_secrets:
        return config
    log.warning("no secrets.cookie configured: --dev generated a random one (sessions end on restart)")
    generated = Secret(secrets.token_urlsafe(32))
    return replace(config, secrets=replace(config.secrets, cookie=(generated,),
                                           cipher=config.secrets.cipher or (Secret(secrets.token_urlsafe(24)),)))


