"""Environment overrides, Kratos' way: `SELFSERVICE_FLOWS_LOGIN_UI_URL` sets `selfservice.flows.login.ui_url`.

A name is resolved against the config types (field names may themselves contain `_`) and, inside
free-form mappings, against the keys already present in the file. List items are addressed by index
(`SECRETS_COOKIE_0`); a whole list may be given as a JSON/YAML array.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, get_args, get_origin

import yaml

from gatekeeper.config.types import Duration, Secret

_TEXT_TYPES = (str, Secret, Duration)


def apply_env(cls: type, data: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """Set every resolvable environment variable into `data`; returns {dotted path: variable name}."""
    applied: dict[str, str] = {}
    for name in sorted(env):
        tokens = name.split("_")
        resolved = _resolve(cls, data, tokens)
        if resolved is None:
            continue
        path, leaf = resolved
        value: Any = env[name] if leaf in _TEXT_TYPES else _parse(env[name])
        if get_origin(leaf) in (list, tuple) and not isinstance(value, list):
            value = [env[name]]
        _set(data, path, value)
        applied[".".join(str(p) for p in path)] = name
    return applied


def _parse(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _unwrap(tp: Any) -> Any:
    """`X | None` is X; a list that may also be written as one value (`tuple[str, ...] | str`) is the list."""
    if get_origin(tp) in (typing.Union, types.UnionType):
        inner = [a for a in get_args(tp) if a is not type(None)]
        lists = [a for a in inner if get_origin(a) in (list, tuple)]
        return inner[0] if len(inner) == 1 else lists[0] if lists else Any
    return tp


def _resolve(tp: Any, data: Any, tokens: list[str]) -> tuple[list[str | int], Any] | None:
    tp = _unwrap(tp)
    if not tokens:
        return [], tp
    if tp in _TEXT_TYPES:
        return None
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        names = sorted((f.name for f in dataclasses.fields(tp) if f.name != "source"), key=len, reverse=True)
        return _by_keys(names, lambda key: hints[key], data, tokens)
    origin, args = get_origin(tp), get_args(tp)
    if origin in (list, tuple) and tokens[0].isdigit():
        index = int(tokens[0])
        item = data[index] if isinstance(data, list) and index < len(data) else None
        rest = _resolve(args[0] if args else Any, item, tokens[1:])
        return None if rest is None else ([index, *rest[0]], rest[1])
    if origin in (dict, Mapping) or tp is Mapping or tp is Any:
        value_type = args[1] if len(args) == 2 else Any
        known = sorted(data, key=len, reverse=True) if isinstance(data, Mapping) else []
        found = _by_keys([str(k) for k in known], lambda key: value_type, data, tokens)
        if found is not None:
            return found
        if value_type is Any:  # a new free-form key: take the rest as one key
            return ["_".join(tokens).lower()], Any
        for cut in range(1, len(tokens)):
            rest = _resolve(value_type, None, tokens[cut:])
            if rest is not None:
                return ["_".join(tokens[:cut]).lower(), *rest[0]], rest[1]
    return None


def _by_keys(keys: list[str], type_of: Any, data: Any, tokens: list[str]) -> tuple[list[str | int], Any] | None:
    for key in keys:
        key_tokens = key.upper().replace("-", "_").split("_")
        if tokens[: len(key_tokens)] != key_tokens:
            continue
        child = data.get(key) if isinstance(data, Mapping) else None
        rest = _resolve(type_of(key), child, tokens[len(key_tokens):])
        if rest is not None:
            return [key, *rest[0]], rest[1]
    return None


def _set(data: dict[str, Any], path: list[str | int], value: Any) -> None:
    node: Any = data
    for key, next_key in zip(path, path[1:], strict=False):
        if isinstance(key, int):
            while len(node) <= key:
                node.append(None)
            if not isinstance(node[key], dict | list):
                node[key] = [] if isinstance(next_key, int) else {}
            node = node[key]
            continue
        if not isinstance(node.get(key), dict | list):
            node[key] = [] if isinstance(next_key, int) else {}
        node = node[key]
    last = path[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last] = value
