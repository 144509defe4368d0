"""Turn parsed YAML into frozen dataclasses, collecting every problem with its file and line.

Supported field types: str, int, float, bool, Duration, Secret, Literal[...], `X | None`, list/tuple of
any supported type, dict[str, T], Mapping[str, Any] (kept raw for handler configs, which validate
themselves with `build` later) and nested dataclasses. Unknown keys are problems, with a
"did you mean" when a known key is close.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal, TypeVar, cast, get_args, get_origin

from gatekeeper.config.problems import ConfigProblem
from gatekeeper.config.types import Duration, Secret
from gatekeeper.yamlpos import Source, join

T = TypeVar("T")

_MISSING = dataclasses.MISSING


class _Collector:
    def __init__(self, source: Source, problems: list[ConfigProblem]) -> None:
        self.source, self.problems = source, problems

    def add(self, path: str, message: str) -> None:
        self.problems.append(ConfigProblem(self.source.file(path), self.source.line(path), path, message))


def build(cls: type[T], data: Any, *, at: str, source: Source, problems: list[ConfigProblem]) -> T:
    """Build `cls` from `data` found at key path `at`; problems are appended, defaults fill gaps.

    On a problem the field keeps its default, so callers always get an object back and can keep
    validating; they must raise when `problems` is not empty.
    """
    return _dataclass(cls, data, at, _Collector(source, problems), None)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not _MISSING:
        return f.default
    if f.default_factory is not _MISSING:
        return f.default_factory()
    return _MISSING


def _dataclass(cls: type[T], data: Any, path: str, out: _Collector, base: Any) -> T:
    """Keys missing from `data` keep their value in `base`: the default the enclosing field gave this section
    (`serve.public` defaults to port 4433 even though a bare `Listener` has port 0)."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        out.add(path, f"expected a mapping, got {_kind(data)}")
        data = {}
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = _hints(cast(type, cls))
    values: dict[str, Any] = {}
    for key, raw in data.items():
        key = str(key)
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            out.add(join(path, key), f"unknown key{hint}")
            continue
        nested_base = getattr(base, key) if base is not None else _default(fields[key])
        before = len(out.problems)
        value = _value(hints[key], raw, join(path, key), out, nested_base)
        bad = value is None and len(out.problems) > before and nested_base is not _MISSING
        values[key] = nested_base if bad else value  # a bad scalar keeps its default, as promised above
    for name, f in fields.items():
        if name in values:
            continue
        if base is not None:
            values[name] = getattr(base, name)
        elif f.default is _MISSING and f.default_factory is _MISSING:
            out.add(join(path, name), "is required")
            values[name] = None
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        out.add(path, str(exc))
        return cls(**{k: v for k, v in values.items() if v is not None})


def _value(tp: Any, raw: Any, path: str, out: _Collector, base: Any = None) -> Any:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if raw is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _value(inner[0], raw, path, out, base) if len(inner) == 1 else raw
    if origin is Literal:
        if raw not in args:
            out.add(path, f"expected one of {', '.join(repr(a) for a in args)}, got {raw!r}")
            return args[0]
        return raw
    if origin in (list, tuple):
        if raw is None:
            return () if origin is tuple else []
        if not isinstance(raw, list):
            out.add(path, f"expected a list, got {_kind(raw)}")
            return () if origin is tuple else []
        items = [_value(args[0], item, join(path, i), out) for i, item in enumerate(raw)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping) or tp is Mapping:
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            out.add(path, f"expected a mapping, got {_kind(raw)}")
            return {}
        value_type = args[1] if len(args) == 2 else Any
        if value_type is Any:
            return dict(raw)
        return {str(k): _value(value_type, v, join(path, str(k)), out) for k, v in raw.items()}
    if tp is Any:
        return raw
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and tp is not Secret:
        return _dataclass(tp, raw, path, out, base if dataclasses.is_dataclass(base) else None)
    return _scalar(tp, raw, path, out)


def _scalar(tp: Any, raw: Any, path: str, out: _Collector) -> Any:
    try:
        if tp is Duration:
            return Duration.parse(raw)
        if tp is Secret:
            if not isinstance(raw, str | int) or isinstance(raw, bool):
                raise ValueError(f"expected a string, got {_kind(raw)}")
            return Secret(str(raw))
        if tp is bool:
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in ("true", "false", "1", "0"):
                return raw.lower() in ("true", "1")
            raise ValueError(f"expected true or false, got {raw!r}")
        if tp is int:
            if isinstance(raw, bool) or not isinstance(raw, int | str):
                raise ValueError(f"expected an integer, got {_kind(raw)}")
            return int(raw)
        if tp is float:
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise ValueError(f"expected a number, got {_kind(raw)}")
            return float(raw)
        if tp is str:
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                raise ValueError(f"expected a string, got {_kind(raw)}")
            return str(raw)
    except ValueError as exc:
        message = str(exc)
        if message.startswith("invalid literal") or message.startswith("could not convert"):
            message = f"expected {tp.__name__}, got {raw!r}"
        out.add(path, message)
        return None
    raise TypeError(f"unsupported config field type {tp!r} at {path}")


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
