"""`gatekeeper relation-tuple parse FILE|-...`, as Keto's: relationships in the text form of its documentation
(`ns:object#relation@subject` a line; blank lines and `//` comments skipped) printed as a table, or in `--format`
(`json` to pipe into `relation-tuple create`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gatekeeper.cli.output import Row, Table, add_format_flags, print_row, print_table
from gatekeeper.permissions.model import RelationTuple, tuple_from_text


def register_parse(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `parse` to the `relation-tuple` group."""
    parse = actions.add_parser("parse", help="parse relationships written as ns:object#relation@subject, one a line "
                                             "('-': stdin; // comments and blank lines are skipped)")
    parse.add_argument("files", nargs="+", metavar="FILE")
    add_format_flags(parse)
    parse.set_defaults(run=_parse)


class ParseFailed(Exception):
    """A file could not be read or has a line that is no relationship (the message is Keto's)."""


def parse_file(name: str) -> list[RelationTuple]:
    """The relationships in file `name` ('-': stdin), as Keto's `parseFile`."""
    if name == "-":
        name, text = "stdin", sys.stdin.read()
    else:
        try:
            text = Path(name).read_text(encoding="utf-8")
        except OSError as exc:
            raise ParseFailed(f"Could not open file {name}: {exc}") from None
    tuples = []
    for number, line in enumerate(text.split("\n"), 1):
        row = line.strip()
        if not row or row.startswith("//"):
            continue
        try:
            tuples.append(tuple_from_text(row))
        except ValueError as exc:
            raise ParseFailed(f"Could not decode {name}:{number}\n  {row}\n\nmalformed string input: {exc}") from None
    return tuples


def _parse(args: argparse.Namespace) -> int:
    try:
        tuples = [t for name in args.files for t in parse_file(name)]
    except ParseFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    if len(tuples) == 1:
        print_row(args, Row(("NAMESPACE", "OBJECT ID", "RELATION NAME", "SUBJECT"), _columns(tuples[0]),
                            tuples[0].as_json()))
    else:
        print_table(args, Table(("NAMESPACE", "OBJECT", "RELATION NAME", "SUBJECT"), [_columns(t) for t in tuples],
                                [t.as_json() for t in tuples], [str(t) for t in tuples]))
    return 0


def _columns(t: RelationTuple) -> list[str]:
    return [t.namespace, t.object, t.relation, str(t.subject)]
