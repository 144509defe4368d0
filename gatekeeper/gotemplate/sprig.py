"""Sprig's hermetic text functions (`sprig.HermeticTxtFuncMap`, what Kratos' courier templates get).

The string, list, dict, math, encoding, regex, JSON and default functions; not the date, random, crypto,
OS, network or semver ones. Arguments come in sprig's order (`"foo" | trimPrefix "f"`: the subject last).
Missing values are treated as sprig's zero values ("" for strings, 0 for numbers).
"""

from __future__ import annotations

import base64
import hashlib
import json
import posixpath
import re
import textwrap
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from gatekeeper.gotemplate.values import TemplateError, go_str, is_missing, truth

MAX_REPEAT = 100_000  # characters `repeat` and friends may produce: a bound, not Sprig's


def _s(value: Any) -> str:
    return "" if is_missing(value) else go_str(value)


def _i(value: Any) -> int:
    """Sprig's toInt64: numbers truncated, numeric strings parsed, anything else 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return int(value)
    try:
        return int(float(str(value).strip()))
    except (TypeError, ValueError):
        return 0


def _f(value: Any) -> float:
    try:
        return float(value) if not is_missing(value) else 0.0
    except (TypeError, ValueError):
        return 0.0


def _list(value: Any) -> list[Any]:
    if is_missing(value):
        return []
    if isinstance(value, list | tuple):
        return list(value)
    raise TemplateError(f"cannot find first on type {type(value).__name__}")


def _bounded(text: str) -> str:
    if len(text) > MAX_REPEAT:
        raise TemplateError(f"result longer than {MAX_REPEAT} characters")
    return text


def _go_title(s: Any) -> str:
    """Go's strings.Title: the first letter of each word upper-cased, the rest left as is."""
    return re.sub(r"(^|[^\w'])(\w)", lambda m: m.group(1) + m.group(2).upper(), _s(s))


def _trunc(n: Any, s: Any) -> str:
    text, n = _s(s), _i(n)
    return text[:n] if n >= 0 else text[max(0, len(text) + n):]


def _substr(start: Any, end: Any, s: Any) -> str:
    text, start, end = _s(s), _i(start), _i(end)
    if start < 0:
        return text[:end] if end >= 0 else text
    return text[start:end] if 0 <= end <= len(text) and start <= end else text[start:]


def _abbrev(width: Any, s: Any) -> str:
    text, width = _s(s), _i(width)
    return text if width < 4 or len(text) <= width else text[:width - 3] + "..."


def _words(s: Any) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", _s(s))
    return [w for w in re.split(r"[\s_\-.]+", spaced) if w]


def _split(sep: Any, s: Any, n: int = -1) -> list[str]:
    """Go's strings.SplitN: an empty separator splits into characters; n > 0 caps the number of parts."""
    text, sep = _s(s), _s(sep)
    if n == 0:
        return []
    if not sep:
        chars = list(text)
        return chars if n < 0 or len(chars) <= n else [*chars[:n - 1], "".join(chars[n - 1:])]
    return text.split(sep, n - 1 if n > 0 else -1)


def _indent(n: Any, s: Any) -> str:
    pad = " " * _i(n)
    return pad + _s(s).replace("\n", "\n" + pad)


def _default(fallback: Any, *given: Any) -> Any:
    return given[0] if given and truth(given[0]) else fallback


def _to_json(value: Any, indent: int | None = None) -> str:
    return json.dumps(None if is_missing(value) else value, separators=None if indent else (",", ":"),
                      indent=indent, ensure_ascii=False, default=go_str)


def _b64dec(s: Any) -> str:
    try:
        return base64.b64decode(_s(s), validate=True).decode("utf-8", "replace")
    except ValueError as exc:
        return str(exc)


def _fail(message: Any) -> str:
    raise TemplateError(_s(message))


def _dict(*pairs: Any) -> dict[str, Any]:
    return {_s(pairs[i]): (pairs[i + 1] if i + 1 < len(pairs) else "") for i in range(0, len(pairs), 2)}


def _dig(*args: Any) -> Any:
    *keys, fallback, tree = args
    for key in keys:
        if not isinstance(tree, Mapping) or key not in tree:
            return fallback
        tree = tree[key]
    return tree


def _uniq(items: Any) -> list[Any]:
    out: list[Any] = []
    for item in _list(items):
        if item not in out:
            out.append(item)
    return out


def _until(n: Any) -> list[int]:
    count = _i(n)
    if abs(count) > MAX_REPEAT:
        raise TemplateError(f"until {count}: more than {MAX_REPEAT} items")
    return list(range(count)) if count >= 0 else list(range(0, count, -1))


def _regex(pattern: Any) -> re.Pattern[str]:
    try:
        return re.compile(_s(pattern))
    except re.error as exc:
        raise TemplateError(f"bad regular expression {_s(pattern)!r}: {exc}") from None


def _go_replacement(repl: Any) -> str:
    """Go's `${1}`/`$1` in a regexp replacement, as Python's `\\g<1>`."""
    return re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", _s(repl).replace("\\", "\\\\"))


SPRIG: dict[str, Callable[..., Any]] = {
    # strings
    "trim": lambda s: _s(s).strip(),
    "trimAll": lambda cut, s: _s(s).strip(_s(cut)),
    "trimall": lambda cut, s: _s(s).strip(_s(cut)),
    "trimPrefix": lambda p, s: _s(s).removeprefix(_s(p)),
    "trimSuffix": lambda p, s: _s(s).removesuffix(_s(p)),
    "upper": lambda s: _s(s).upper(),
    "lower": lambda s: _s(s).lower(),
    "title": _go_title,
    "untitle": lambda s: re.sub(r"\b(\w)", lambda m: m.group(1).lower(), _s(s)),
    "substr": _substr,
    "repeat": lambda n, s: _bounded(_s(s) * max(0, min(_i(n), MAX_REPEAT + 1))),
    "nospace": lambda s: re.sub(r"\s+", "", _s(s)),
    "trunc": _trunc,
    "abbrev": _abbrev,
    "initials": lambda s: "".join(w[0] for w in _s(s).split()),
    "wrap": lambda n, s: "\n".join(textwrap.wrap(_s(s), max(1, _i(n)), break_long_words=False)),
    "cat": lambda *a: " ".join(_s(v) for v in a if not is_missing(v)),
    "indent": _indent,
    "nindent": lambda n, s: "\n" + _indent(n, s),
    "replace": lambda old, new, s: _s(s).replace(_s(old), _s(new)),
    "plural": lambda one, many, n: _s(one) if _i(n) == 1 else _s(many),
    "snakecase": lambda s: "_".join(w.lower() for w in _words(s)),
    "camelcase": lambda s: "".join(w[:1].upper() + w[1:] for w in _words(s)),
    "kebabcase": lambda s: "-".join(w.lower() for w in _words(s)),
    "swapcase": lambda s: _s(s).swapcase(),
    "contains": lambda sub, s: _s(sub) in _s(s),
    "hasPrefix": lambda p, s: _s(s).startswith(_s(p)),
    "hasSuffix": lambda p, s: _s(s).endswith(_s(p)),
    "quote": lambda *a: " ".join(json.dumps(_s(v), ensure_ascii=False) for v in a if not is_missing(v)),
    "squote": lambda *a: " ".join(f"'{_s(v)}'" for v in a if not is_missing(v)),
    "toString": _s,
    "toStrings": lambda items: [_s(v) for v in _list(items)],
    "split": lambda sep, s: {f"_{i}": p for i, p in enumerate(_split(sep, s))},
    "splitn": lambda sep, n, s: {f"_{i}": p for i, p in enumerate(_split(sep, s, _i(n)))},
    "splitList": _split,
    "join": lambda sep, items: _s(sep).join(_s(v) for v in ([items] if isinstance(items, str) else _list(items))),
    "sortAlpha": lambda items: sorted(_s(v) for v in _list(items)),
    # numbers
    "atoi": _i,
    "int": _i,
    "int64": _i,
    "float64": _f,
    "add": lambda *a: sum(_i(v) for v in a),
    "add1": lambda v: _i(v) + 1,
    "sub": lambda a, b: _i(a) - _i(b),
    "mul": lambda a, *b: _i(a) * _product(b),
    "div": lambda a, b: int(_i(a) / _i(b)),
    "mod": lambda a, b: _i(a) % _i(b),
    "max": lambda a, *b: max(_i(v) for v in (a, *b)),
    "min": lambda a, *b: min(_i(v) for v in (a, *b)),
    "floor": lambda v: float(int(_f(v) // 1)),
    "ceil": lambda v: float(-int(-_f(v) // 1)),
    "round": lambda v, p=0: round(_f(v), _i(p)),
    "until": _until,
    # defaults and flow
    "default": _default,
    "empty": lambda v: not truth(v),
    "coalesce": lambda *a: next((v for v in a if truth(v)), None),
    "all": lambda *a: all(truth(v) for v in a),
    "any": lambda *a: any(truth(v) for v in a),
    "ternary": lambda yes, no, cond: yes if truth(cond) else no,
    "fail": _fail,
    # encodings and JSON
    "toJson": _to_json,
    "mustToJson": _to_json,
    "toRawJson": _to_json,
    "toPrettyJson": lambda v: _to_json(v, indent=2),
    "fromJson": lambda s: json.loads(_s(s)) if _s(s) else {},
    "b64enc": lambda s: base64.b64encode(_s(s).encode()).decode(),
    "b64dec": _b64dec,
    "b32enc": lambda s: base64.b32encode(_s(s).encode()).decode(),
    "b32dec": lambda s: base64.b32decode(_s(s)).decode("utf-8", "replace"),
    "sha1sum": lambda s: hashlib.sha1(_s(s).encode(), usedforsecurity=False).hexdigest(),
    "sha256sum": lambda s: hashlib.sha256(_s(s).encode()).hexdigest(),
    "adler32sum": lambda s: str(zlib.adler32(_s(s).encode())),
    # lists and dicts
    "list": lambda *a: list(a),
    "tuple": lambda *a: list(a),
    "dict": _dict,
    "get": lambda d, k: d.get(_s(k), "") if isinstance(d, Mapping) else "",
    "hasKey": lambda d, k: isinstance(d, Mapping) and _s(k) in d,
    "keys": lambda *ds: sorted(k for d in ds if isinstance(d, Mapping) for k in d),
    "values": lambda d: [d[k] for k in sorted(d)] if isinstance(d, Mapping) else [],
    "pick": lambda d, *ks: {k: d[k] for k in map(_s, ks) if isinstance(d, Mapping) and k in d},
    "omit": lambda d, *ks: {k: v for k, v in (d.items() if isinstance(d, Mapping) else ()) if k not in ks},
    "pluck": lambda k, *ds: [d[_s(k)] for d in ds if isinstance(d, Mapping) and _s(k) in d],
    "dig": _dig,
    "first": lambda items: (_list(items) or [None])[0],
    "last": lambda items: (_list(items) or [None])[-1],
    "rest": lambda items: _list(items)[1:],
    "initial": lambda items: _list(items)[:-1],
    "reverse": lambda items: _list(items)[::-1],
    "uniq": _uniq,
    "compact": lambda items: [v for v in _list(items) if truth(v)],
    "has": lambda needle, items: needle in _list(items),
    "without": lambda items, *drop: [v for v in _list(items) if v not in drop],
    "append": lambda items, v: [*_list(items), v],
    "push": lambda items, v: [*_list(items), v],
    "prepend": lambda items, v: [v, *_list(items)],
    "concat": lambda *lists: [v for items in lists for v in _list(items)],
    # regular expressions (Python's re, close to Go's RE2 for what templates use)
    "regexMatch": lambda rx, s: _regex(rx).search(_s(s)) is not None,
    "regexFind": lambda rx, s: (m.group(0) if (m := _regex(rx).search(_s(s))) else ""),
    "regexFindAll": lambda rx, s, n: [m.group(0) for m in _regex(rx).finditer(_s(s))][:None if _i(n) < 0 else _i(n)],
    "regexReplaceAll": lambda rx, s, repl: _regex(rx).sub(_go_replacement(repl), _s(s)),
    "regexReplaceAllLiteral": lambda rx, s, repl: _regex(rx).sub(lambda m: _s(repl), _s(s)),
    "regexSplit": lambda rx, s, n: _regex(rx).split(_s(s), maxsplit=max(0, _i(n) - 1) if _i(n) > 0 else 0),
    "regexQuoteMeta": lambda s: re.escape(_s(s)),
    # paths
    "base": lambda s: posixpath.basename(_s(s).rstrip("/")) or ("/" if _s(s).startswith("/") else "."),
    "dir": lambda s: posixpath.dirname(_s(s)) or ".",
    "ext": lambda s: posixpath.splitext(_s(s))[1],
    "clean": lambda s: posixpath.normpath(_s(s)) if _s(s) else ".",
    "toDecimal": _i,
    "kindOf": lambda v: _kind(v),
    "typeOf": lambda v: _kind(v),
    "deepEqual": lambda a, b: a == b,
}


def _product(values: tuple[Any, ...]) -> int:
    out = 1
    for v in values:
        out *= _i(v)
    return out


def _kind(value: Any) -> str:
    for kinds, name in ((bool, "bool"), (int, "int"), (float, "float64"), (str, "string"), (Mapping, "map"),
                        ((list, tuple), "slice")):
        if isinstance(value, kinds):
            return name
    return "invalid" if is_missing(value) else type(value).__name__
