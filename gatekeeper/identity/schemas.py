"""Identity schemas: loading (file, http(s), base64, bundled), the `ory.sh/kratos` extension, trait nodes
and trait validation errors as Kratos' message ids. Compiled once at start-up.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError

from gatekeeper.config.identity import Identity as IdentityConfig
from gatekeeper.identity import text
from gatekeeper.identity.phones import normalise_address
from gatekeeper.identity.text import Msg
from gatekeeper.identity.ui import Group, Node, input_node

EXTENSION = "ory.sh/kratos"
_FORMAT_TYPES = {"email": ("email", "email"), "tel": ("tel", "tel"), "date-time": ("datetime-local", None),
                 "date": ("date", None), "uri": ("url", "url")}


class SchemaError(Exception):
    """A configured identity schema cannot be loaded or is not a usable identity schema."""


@dataclass(frozen=True)
class TraitField:
    """One leaf trait: its node name (`traits.email`), JSON path and what the extension says about it."""

    name: str
    path: tuple[str, ...]
    spec: dict[str, Any]
    required: bool
    password_identifier: bool = False
    code_identifier: bool = False
    code_via: str = "email"
    totp_account_name: bool = False
    verification_via: str | None = None
    recovery_via: str | None = None


@dataclass(frozen=True)
class IdentitySchema:
    id: str
    url: str
    raw: dict[str, Any]
    fields: tuple[TraitField, ...]
    validator: Any = field(repr=False)

    @property
    def trait_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def identifier_label(self) -> dict[str, Any]:
        """1070002 with the title of the only password identifier trait, else 1070004 "ID"."""
        ids = [f for f in self.fields if f.password_identifier]
        if len(ids) == 1 and ids[0].spec.get("title"):
            return text.generated_label(ids[0].spec["title"], "identifier")
        return text.id_label()

    def trait_nodes(self, group: Group, traits: dict[str, Any] | None = None) -> list[Node]:
        """Input nodes for every leaf trait, in schema order, typed as Kratos' attributes_input.go."""
        nodes = []
        for f in self.fields:
            spec, kind = f.spec, f.spec.get("type")
            node_type, autocomplete = "text", None
            if kind in ("number", "integer"):
                node_type = "number"
            elif kind == "boolean":
                node_type = "checkbox"
            elif spec.get("format") in _FORMAT_TYPES:
                node_type, autocomplete = _FORMAT_TYPES[spec["format"]]
            label = text.generated_label(spec["title"], f.name) if spec.get("title") else None
            value = _get(traits or {}, f.path)
            nodes.append(input_node(f.name, group, type=node_type, value=value, required=f.required,
                                    disabled=bool(spec.get("disableFormField")), autocomplete=autocomplete,
                                    pattern=spec.get("pattern"), label=label))
        return nodes

    def validate(self, traits: Any) -> list[tuple[str, dict[str, Any]]]:
        """Trait violations as (node name, uiText) pairs; empty when the traits are valid."""
        out = []
        for err in sorted(self.validator.iter_errors({"traits": traits}), key=lambda e: list(e.absolute_path)):
            out.append(_translate(err))
        return out

    def coerce(self, traits: dict[str, Any]) -> dict[str, Any]:
        """Form values to the schema's types: numbers, booleans; empty strings dropped (then "required")."""
        out = json.loads(json.dumps(traits)) if traits else {}
        for f in self.fields:
            parent: Any = out
            for key in f.path[:-1]:
                parent = parent.get(key) if isinstance(parent, dict) else None
            if not isinstance(parent, dict) or f.path[-1] not in parent:
                continue
            value, kind = parent[f.path[-1]], f.spec.get("type")
            if isinstance(value, list) and kind != "array":
                value = value[-1] if value else None  # repeated form keys: the last one wins
            if value == "" or value is None:
                del parent[f.path[-1]]
                continue
            if isinstance(value, str):
                if kind in ("number", "integer"):
                    try:
                        number = float(value)
                        value = int(number) if kind == "integer" and number.is_integer() else number
                    except ValueError:
                        pass
                elif kind == "boolean" and value.lower() in ("true", "false", "on", "1", "0"):
                    value = value.lower() in ("true", "on", "1")
            parent[f.path[-1]] = value
        return out

    def identifiers(self, traits: dict[str, Any]) -> list[str]:
        """Normalised password identifiers found in `traits` (case and surrounding whitespace folded)."""
        found = []
        for f in self.fields:
            value = _get(traits, f.path)
            if f.password_identifier and isinstance(value, str) and value.strip():
                found.append(normalise_identifier(value))
        return sorted(set(found))

    def code_addresses(self, traits: dict[str, Any]) -> list[tuple[str, str]]:
        """(via, value) for traits marked `credentials.code.identifier`: where sign-in codes go."""
        found = []
        for f in self.fields:
            value = _get(traits, f.path)
            if f.code_identifier and isinstance(value, str) and value.strip():
                found.append((f.code_via, normalise_address(f.code_via, value)))
        return sorted(set(found))

    def addresses(self, traits: dict[str, Any], key: str) -> list[tuple[str, str]]:
        """(via, value) for traits marked `verification.via` (key="verification") or `recovery.via`."""
        found = []
        for f in self.fields:
            via = f.verification_via if key == "verification" else f.recovery_via
            value = _get(traits, f.path)
            if via and isinstance(value, str) and value.strip():
                found.append((via, normalise_address(via, value)))
        return sorted(set(found))


def normalise_identifier(value: str) -> str:
    return value.strip().lower()


def _get(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _translate(err: ValidationError) -> tuple[str, dict[str, Any]]:
    path = [str(p) for p in err.absolute_path]
    inst = err.instance
    kw = err.validator
    if kw == "required":
        missing = err.message.split("'")[1] if "'" in err.message else ""
        return ".".join([*path, missing]), text.required(missing)
    name = ".".join(path) if path else "traits"
    value = err.validator_value
    length = len(inst) if isinstance(inst, str | list) else 0
    simple = {
        "minLength": (Msg.ERR_VALIDATION_MIN_LENGTH, f"length must be >= {value}, but got {length}",
                      {"min_length": value, "actual_length": length}),
        "maxLength": (Msg.ERR_VALIDATION_MAX_LENGTH, f"length must be <= {value}, but got {length}",
                      {"max_length": value, "actual_length": length}),
        "pattern": (Msg.ERR_VALIDATION_PATTERN, f'does not match pattern "{value}"', {"pattern": value}),
        "minimum": (Msg.ERR_VALIDATION_MINIMUM, f"must be >= {value} but found {inst}",
                    {"minimum": value, "actual": inst}),
        "exclusiveMinimum": (Msg.ERR_VALIDATION_EXCLUSIVE_MINIMUM, f"must be > {value} but found {inst}",
                             {"minimum": value, "actual": inst}),
        "maximum": (Msg.ERR_VALIDATION_MAXIMUM, f"must be <= {value} but found {inst}",
                    {"maximum": value, "actual": inst}),
        "exclusiveMaximum": (Msg.ERR_VALIDATION_EXCLUSIVE_MAXIMUM, f"must be < {value} but found {inst}",
                             {"maximum": value, "actual": inst}),
        "multipleOf": (Msg.ERR_VALIDATION_MULTIPLE_OF, f"{inst} not multipleOf {value}",
                       {"base": value, "actual": inst}),
        "maxItems": (Msg.ERR_VALIDATION_MAX_ITEMS, f"maximum {value} items allowed, but found {length} items",
                     {"max_items": value, "actual_items": length}),
        "minItems": (Msg.ERR_VALIDATION_MIN_ITEMS, f"minimum {value} items allowed, but found {length} items",
                     {"min_items": value, "actual_items": length}),
        "uniqueItems": (Msg.ERR_VALIDATION_UNIQUE_ITEMS, "items must be unique", {}),
        "const": (Msg.ERR_VALIDATION_CONST, f"must be equal to constant {json.dumps(value)}",
                  {"expected": value}),
    }
    if kw in simple:
        msg, message, context = simple[kw]
        return name, text.error(msg, message, **context)
    if kw == "type":
        allowed = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        actual = _json_type(inst)
        return name, text.error(Msg.ERR_VALIDATION_TYPE, f"expected {' or '.join(allowed)}, but got {actual}",
                                allowed_types=allowed, actual_type=actual)
    if kw == "format":
        return name, text.generic(f"{json.dumps(inst)} is not valid {json.dumps(value)}")
    if kw == "additionalProperties":
        return name, text.generic("additional properties are not allowed")
    return name, text.generic(err.message if len(err.message) <= 200 else f"does not satisfy {kw}")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _fields(schema: dict[str, Any]) -> tuple[TraitField, ...]:
    traits = schema.get("properties", {}).get("traits")
    if not isinstance(traits, dict) or traits.get("type") != "object" or not traits.get("properties"):
        raise SchemaError("properties.traits must be an object schema with at least one property")
    out: list[TraitField] = []

    def walk(node: dict[str, Any], path: tuple[str, ...], required: set[str]) -> None:
        for key, spec in node.get("properties", {}).items():
            if not isinstance(spec, dict):
                continue
            if spec.get("type") == "object" and "properties" in spec:
                walk(spec, (*path, key), set(spec.get("required", [])))
                continue
            ext = spec.get(EXTENSION, {}) or {}
            creds = ext.get("credentials", {}) or {}
            out.append(TraitField(
                name=".".join(("traits", *path, key)), path=(*path, key), spec=spec, required=key in required,
                password_identifier=bool((creds.get("password") or {}).get("identifier")),
                code_identifier=bool((creds.get("code") or {}).get("identifier")),
                code_via=str((creds.get("code") or {}).get("via") or "email"),
                totp_account_name=bool((creds.get("totp") or {}).get("account_name")),
                verification_via=(ext.get("verification") or {}).get("via"),
                recovery_via=(ext.get("recovery") or {}).get("via")))

    walk(traits, (), set(traits.get("required", [])))
    return tuple(out)


def compile_schema(schema_id: str, url: str, raw: dict[str, Any]) -> IdentitySchema:
    try:
        cls = jsonschema.validators.validator_for(raw, default=jsonschema.Draft7Validator)
        cls.check_schema(raw)
    except jsonschema.SchemaError as exc:
        raise SchemaError(f"schema {schema_id!r} is not a valid JSON Schema: {exc.message}") from None
    return IdentitySchema(id=schema_id, url=url, raw=raw, fields=_fields(raw),
                          validator=cls(raw, format_checker=FormatChecker()))


async def _fetch(url: str, http: httpx.AsyncClient) -> dict[str, Any]:
    scheme = urlsplit(url).scheme
    try:
        if scheme == "base64":
            data = base64.b64decode(url[len("base64://"):] + "==", altchars=b"-_" if "-" in url or "_" in url
                                    else None)
            raw = json.loads(data)
        elif scheme in ("http", "https"):
            resp = await http.get(url, timeout=10)
            resp.raise_for_status()
            raw = resp.json()
        else:
            path = url[len("file://"):] if scheme == "file" else url
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, httpx.HTTPError, ValueError, binascii.Error) as exc:
        raise SchemaError(f"cannot load identity schema {url}: {type(exc).__name__}: {exc}") from None
    if not isinstance(raw, dict):
        raise SchemaError(f"identity schema {url} is not a JSON object")
    return raw


def bundled_default() -> dict[str, Any]:
    data = resources.files("gatekeeper.identity").joinpath("schemas/default.schema.json").read_text("utf-8")
    raw: dict[str, Any] = json.loads(data)
    return raw


class SchemaRegistry:
    """Every configured schema by id, compiled once."""

    def __init__(self, schemas: dict[str, IdentitySchema], default_id: str) -> None:
        self._schemas, self.default_id = schemas, default_id

    @classmethod
    async def load(cls, config: IdentityConfig, http: httpx.AsyncClient) -> SchemaRegistry:
        schemas: dict[str, IdentitySchema] = {}
        refs = config.schemas
        if not refs:
            schemas[config.default_schema_id] = compile_schema(config.default_schema_id, "bundled://default",
                                                               bundled_default())
        for ref in refs:
            schemas[ref.id] = compile_schema(ref.id, ref.url, await _fetch(ref.url, http))
        if config.default_schema_id not in schemas:
            raise SchemaError(f"identity.default_schema_id {config.default_schema_id!r} is not in identity.schemas")
        return cls(schemas, config.default_schema_id)

    def get(self, schema_id: str | None = None) -> IdentitySchema | None:
        """The schema with this id (the default one when no id is given)."""
        return self._schemas.get(self.default_id if schema_id is None else schema_id)

    @property
    def default(self) -> IdentitySchema:
        return self._schemas[self.default_id]

    def all(self) -> list[IdentitySchema]:
        return list(self._schemas.values())
