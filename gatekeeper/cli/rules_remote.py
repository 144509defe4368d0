"""Oathkeeper's `rules --endpoint URL get ID` and `rules --endpoint URL list [--limit N] [--page N]`: the rules a
running gatekeeper (or Oathkeeper) serves on its API listener, printed as Oathkeeper prints them (JSON, tab
indented); exit 1 with the reason when the endpoint is missing, unreachable or answers an error."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx

from gatekeeper.cli.output import go_json
from gatekeeper.errors import envelope_reason

NO_ENDPOINT = ("Please specify the endpoint url using the --endpoint flag, for more information use "
               "`gatekeeper rules --help`")


def add_endpoint_flag(parser: argparse.ArgumentParser, *, inherit: bool) -> None:
    """`--endpoint/-e`, on `rules` itself as Oathkeeper takes it and on each action (`inherit`: no default)."""
    parser.add_argument("--endpoint", "-e", default=argparse.SUPPRESS if inherit else "", metavar="URL",
                        help="the API listener of a running gatekeeper or Oathkeeper (http://host:4456)")


def register_actions(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `get` and `list` to the `rules` command group."""
    get = actions.add_parser("get", help="print the rule with this id from a running API (--endpoint)")
    get.add_argument("id")
    add_endpoint_flag(get, inherit=True)
    get.set_defaults(run=_get)
    lst = actions.add_parser("list", help="print the rules a running API (--endpoint) serves, a page at a time")
    lst.add_argument("--limit", type=int, default=20, help="the most rules to print")
    lst.add_argument("--page", type=int, default=1, help="the page to print, from 1")
    add_endpoint_flag(lst, inherit=True)
    lst.set_defaults(run=_list)


def _get(args: argparse.Namespace) -> int:
    return fetch_and_print(args.endpoint, f"/rules/{args.id}", {}, "Could not get rule: ")


def _list(args: argparse.Namespace) -> int:
    if args.limit < 1 or args.page < 1:
        print("--limit and --page must be at least 1", file=sys.stderr)
        return 1
    return fetch_and_print(args.endpoint, "/rules", {"limit": args.limit, "offset": args.limit * (args.page - 1)}, "")


def fetch_and_print(endpoint: str, path: str, params: dict[str, Any], failed: str) -> int:
    """GET `path` from a running API listener and print its JSON as Oathkeeper's CLI does; 0, or 1 with the reason
    (prefixed by `failed`) on stderr when the endpoint is missing, unreachable or answers anything but 200."""
    if not endpoint:
        print(NO_ENDPOINT, file=sys.stderr)
        return 1
    url = httpx.URL(endpoint)
    if url.scheme not in ("http", "https") or not url.host:
        print(f'Unable to parse endpoint URL "{endpoint}": expected http(s)://host:port', file=sys.stderr)
        return 1
    try:
        resp = httpx.get(f"{str(url).rstrip('/')}{path}", params=params, timeout=10)
    except httpx.HTTPError as exc:
        print(f"{failed}cannot reach {endpoint}: {exc or type(exc).__name__}", file=sys.stderr)
        return 1
    if resp.status_code != 200:
        print(f"{failed}{resp.status_code} {resp.reason_phrase}: {envelope_reason(resp.text)}", file=sys.stderr)
        return 1
    print(go_json(resp.json(), indent="\t"))
    return 0
