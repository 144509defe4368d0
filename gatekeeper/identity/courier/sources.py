"""The text behind Kratos' template URIs (`courier.templates...`): `base64://`, `file://`, `http(s)://`.

Read once, when the courier is built; a URI that cannot be read is a config problem naming its key.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path

import httpx

FETCH_TIMEOUT = 10.0  # seconds for one http(s):// template
MAX_TEMPLATE_BYTES = 1 << 20


def read_uri(uri: str) -> str:
    """The template text behind `uri`; raises ValueError or OSError saying what went wrong."""
    if uri.startswith("base64://"):
        raw = uri[len("base64://"):].strip().replace("+", "-").replace("/", "_")  # either alphabet
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
    if uri.startswith("file://"):
        return Path(uri[len("file://"):]).read_text(encoding="utf-8")
    if uri.startswith(("http://", "https://")):
        try:
            response = httpx.get(uri, timeout=FETCH_TIMEOUT, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise OSError(f"could not fetch it: {exc}") from None
        if response.status_code != 200:
            raise OSError(f"fetching it answered HTTP {response.status_code}")
        if len(response.content) > MAX_TEMPLATE_BYTES:
            raise ValueError(f"larger than {MAX_TEMPLATE_BYTES} bytes")
        return response.content.decode("utf-8")
    raise ValueError("expected a base64://, file://, http:// or https:// URI")


def read_uris(uris: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """`({name: text}, {name: problem})` for every URI of `uris`."""
    found, problems = {}, {}
    for name, uri in uris.items():
        try:
            found[name] = read_uri(uri)
        except (OSError, ValueError) as exc:
            problems[name] = f"{uri[:60]}: {exc}"
    return found, problems
