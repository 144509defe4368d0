"""`gatekeeper expand RELATION NAMESPACE OBJECT [--max-depth N]`, as Keto's: the tree of subjects in a subject set, on
the config's database; drawn as Keto draws it, or in `--format` (`json`: Keto's tree, `null` when there is none)."""

from __future__ import annotations

import argparse
import sys

from gatekeeper.cli.output import add_format_flags, print_value
from gatekeeper.cli.permissions import run_permissions
from gatekeeper.cli.runtime import add_config_option
from gatekeeper.http.keto.services import PermissionServices
from gatekeeper.permissions.expand import Tree
from gatekeeper.permissions.model import SubjectSet

EMPTY = "Got an empty tree. This probably means that the requested relation tuple is not present in Keto."
_OPERATIONS = {"union": "or"}  # the only inner node gatekeeper's expand builds


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `expand`."""
    expand = commands.add_parser("expand", help="expand a subject set into the tree of its subjects (as Keto)")
    expand.add_argument("relation")
    expand.add_argument("namespace")
    expand.add_argument("object")
    expand.add_argument("--max-depth", "-d", type=int, default=0,
                        help="the tree's depth; below 1 or above limit.max_read_depth: that limit")
    add_format_flags(expand)
    add_config_option(expand)
    expand.set_defaults(run=_expand)


def draw(tree: Tree) -> str:
    """Keto's text rendering (`ketoapi.Tree.String`): `∋ subject` leaves under `or subject` nodes, box-drawn."""
    label = f":#@{tree.subject}"  # Keto prints the node's tuple, whose namespace, object and relation are empty
    if tree.type == "leaf":
        return f"∋ {label}\ufe0f"
    children = []
    for i, child in enumerate(tree.children):
        indent = "   " if i == len(tree.children) - 1 else "│  "
        children.append(f"\n{indent}".join(draw(child).split("\n")))
    box = "└" if len(children) == 1 else "├"
    return f"{_OPERATIONS.get(tree.type, '')} {label}\n{box}──" + "\n└──".join(children)


def _expand(args: argparse.Namespace) -> int:
    async def work(services: PermissionServices) -> int:
        services.namespaces().require(args.namespace)
        tree = await services.expand.expand(SubjectSet(args.namespace, args.object, args.relation), args.max_depth)
        if print_value(args.format, tree.as_json() if tree else None, sys.stdout):
            return 0
        if tree:
            print(draw(tree))
        else:
            print("" if args.quiet else EMPTY)
        return 0

    return run_permissions(args, work)
