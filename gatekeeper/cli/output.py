"""Output as Ory's CLIs print it (ory/x cmdx): `--format table|json|json-pretty|yaml|jsonpath=PATH|
jsonpointer=PTR` and `--quiet/-q`; tables aligned with tabs as Go's tabwriter(0, 8, 1, '\\t') aligns them."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import yaml

FORMATS = "table, json, yaml, json-pretty, jsonpath=PATH and jsonpointer=POINTER"
NONE = "<none>"
_TAB_WIDTH = 8


class FormatError(ValueError):
    """A JSON pointer (`--format jsonpointer=...`) that points at nothing in the output."""


def add_format_flags(parser: argparse.ArgumentParser, *, inherit: bool = False) -> None:
    """`--format` and `--quiet/-q`, as cmdx.RegisterFormatFlags adds them; `inherit`: no defaults, so what a
    parent command parsed stays."""
    parser.add_argument("--format", default=argparse.SUPPRESS if inherit else "default", type=_format_flag,
                        metavar="FORMAT", help=f"output format: one of {FORMATS}")
    parser.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS if inherit else False,
                        help="print only the ids (or nothing)")


def _format_flag(text: str) -> str:
    name, eq, arg = text.partition("=")
    if name in ("jsonpath", "jsonpointer") and not arg:
        example = "id" if name == "jsonpath" else "/id"
        raise argparse.ArgumentTypeError(f"{text} is missing a path, e.g. --format={name}={example}")
    if text not in ("default", "table", "json", "json-pretty", "yaml") and not eq:
        raise argparse.ArgumentTypeError(f"unknown format {text!r}: use one of {FORMATS}")
    return text


@dataclass(frozen=True)
class Row:
    """One resource: its table columns beside the header, and its JSON value."""

    header: Sequence[str]
    columns: Sequence[str]
    value: Any


@dataclass(frozen=True)
class Table:
    """Several resources: header, rows (extra rows such as a page token may follow) and the JSON value."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    value: Any
    ids: Sequence[str]


def print_row(args: argparse.Namespace, row: Row, out: TextIO | None = None) -> None:
    """One resource: `HEADER<tab>value` lines as a table, else the value in --format (only its id with -q), to
    `out` (standard output as it is at the call)."""
    out = out or sys.stdout
    if getattr(args, "quiet", False):
        print(row.columns[0], file=out)
    elif not print_value(args.format, row.value, out):
        out.write(tabulate([[h, c] for h, c in zip(row.header, row.columns, strict=True)]))


def print_table(args: argparse.Namespace, table: Table, out: TextIO | None = None) -> None:
    """Several resources: a header line then one line each, else the value in --format (the ids with -q), to
    `out` (standard output as it is at the call)."""
    out = out or sys.stdout
    if getattr(args, "quiet", False):
        print("\n".join(table.ids) if table.ids else "", file=out)
    elif not print_value(args.format, table.value, out):
        out.write(tabulate([list(table.header), *table.rows]))


def print_value(fmt: str, value: Any, out: TextIO) -> bool:
    """Print `value` as `fmt` says; False for the table formats (the caller draws the table)."""
    name, _, arg = fmt.partition("=")  # add_format_flags checked it
    if fmt in ("table", "default"):
        return False
    if fmt == "json":
        out.write(go_json(value) + "\n")
    elif fmt == "json-pretty":
        out.write(go_json(value, indent=2) + "\n")
    elif fmt == "yaml":
        out.write(yaml.safe_dump(value, sort_keys=False, allow_unicode=True))
    elif name == "jsonpath":
        out.write(go_json(json_path(value, arg), indent=2) + "\n")
    else:
        out.write(go_json(json_pointer(value, arg), indent=2) + "\n")
    return True


def go_json(value: Any, indent: int | str | None = None) -> str:
    """JSON as Go's encoder writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped, other text left as is."""
    separators = (",", ": ") if indent is not None else (",", ":")
    text = json.dumps(value, ensure_ascii=False, indent=indent, separators=separators)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def json_path(value: Any, path: str) -> Any:
    """A GJSON path (dot-separated keys, array indexes, `#` for the length or `#.key` for every element's key);
    None where nothing is found, as gjson answers."""
    parts = path.split(".")
    for i, part in enumerate(parts):
        if part == "#" and isinstance(value, list):
            rest = ".".join(parts[i + 1:])
            return [json_path(item, rest) for item in value] if rest else len(value)
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def json_pointer(value: Any, pointer: str) -> Any:
    """RFC 6901: `/identities/0/id`; FormatError when it points at nothing."""
    if pointer == "":
        return value
    if not pointer.startswith("/"):
        raise FormatError(f"invalid JSON pointer {pointer!r}: it starts with /")
    for token in pointer[1:].split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            raise FormatError(f"failed to apply JSON pointer {pointer!r}: {key!r} is not there")
    return value


def tabulate(lines: Sequence[Sequence[str]]) -> str:
    """Each line's cells tab-terminated and aligned to tab stops, column block by column block, exactly as
    Go's text/tabwriter (minwidth 0, tabwidth 8, padding 1, padchar '\\t') lays out cmdx tables."""
    cells = [[*line, ""] for line in lines]  # the text after the last tab is an unterminated last cell
    widths: list[int] = []
    out: list[str] = []
    _layout(cells, 0, len(cells), widths, out)
    return "".join(out)


def _layout(cells: list[list[str]], line0: int, line1: int, widths: list[int], out: list[str]) -> None:
    column = len(widths)
    this = line0
    while this < line1:
        if column >= len(cells[this]) - 1:
            this += 1
            continue
        _write_lines(cells, line0, this, widths, out)
        line0 = this
        width = 0
        while this < line1 and column < len(cells[this]) - 1:
            width = max(width, len(cells[this][column]) + 1)
            this += 1
        _layout(cells, line0, this, [*widths, width], out)
        line0 = this
    _write_lines(cells, line0, line1, widths, out)


def _write_lines(cells: list[list[str]], line0: int, line1: int, widths: list[int], out: list[str]) -> None:
    for line in cells[line0:line1]:
        for j, text in enumerate(line):
            out.append(text)
            if j < len(widths):
                stop = math.ceil(widths[j] / _TAB_WIDTH) * _TAB_WIDTH
                out.append("\t" * math.ceil((stop - len(text)) / _TAB_WIDTH))
        out.append("\n")
