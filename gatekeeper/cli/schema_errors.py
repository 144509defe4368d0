"""JSON Schema violations printed as Ory's CLIs print them (ory/x `jsonschemax.FormatValidationErrorForCLI`): a
header, the instance's key in dot notation with its value, a caret under it and the message in the wording of
ory/jsonschema (`expected object, but got string`, `one or more required properties are missing`...)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from jsonschema.exceptions import ValidationError

HEADER = "The configuration contains values or keys which are invalid:"
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}


def print_errors(errors: Iterable[ValidationError], out: TextIO) -> None:
    """The header, then each violation (a violation of the whole document: `(root)`)."""
    print(HEADER, file=out)
    for err in errors:
        path, message = _explain(err)
        print(HEADER, file=out)
        if not path:
            print(f"(root)\n^-- {message}\n", file=out)
            continue
        pointer = ".".join(str(p) for p in path)
        print(f"{pointer}: {_go_value(err.instance if path == list(err.absolute_path) else None)}", file=out)
        print(f"{' ' * (len(pointer) + 2)}^-- {message}\n", file=out)


def _explain(err: ValidationError) -> tuple[list[Any], str]:
    """(the instance path, ory/jsonschema's message); a missing property is pointed at, as Ory does."""
    path, kind, value = list(err.absolute_path), err.validator, err.instance
    want: Any = err.validator_value
    schema: Any = err.schema
    if kind == "required" and isinstance(value, dict):
        missing = [name for name in want if name not in value]
        return path + missing[:1], "one or more required properties are missing"
    if kind == "additionalProperties" and isinstance(value, dict):
        extra = [name for name in value if name not in schema.get("properties", {})]
        return path, f"additionalProperties {', '.join(json.dumps(e) for e in extra)} not allowed"
    if kind == "type":
        return path, f"expected {want if isinstance(want, str) else ' or '.join(want)}, but got {_type(value)}"
    if kind == "enum":
        return path, f"value must be one of {', '.join(json.dumps(v) for v in want)}"
    if kind == "minLength" and isinstance(value, str):
        return path, f"length must be >= {want}, but got {len(value)}"
    if kind == "format":
        return path, f"{json.dumps(value)} is not valid {json.dumps(want)}"
    return path, err.message


def _type(value: Any) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), "unknown")


def _go_value(value: Any) -> str:
    """The value as Go's `%+v` shows a decoded JSON value, near enough: text bare, nothing as `<nil>`."""
    if value is None:
        return "<nil>"
    return value if isinstance(value, str) else json.dumps(value)
