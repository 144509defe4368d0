"""The operator's Jsonnet, one code path for every use (OIDC claims mappers, web hook bodies, the session
tokenizer's claims mappers): sources read once from `file://`, `base64://` or `http(s)://`, evaluated off the event
loop, `import` refused (a program cannot read files), a failure reported by the first line of its message.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import rjsonnet


class JsonnetError(Exception):
    """A program that failed to evaluate; `str()` is the first line of the reason."""


def _refuse_imports(base: str, rel: str) -> tuple[str, str | None]:
    raise RuntimeError("imports are not allowed in Jsonnet programs")


class Program:
    """One Jsonnet source and the name its errors carry."""

    def __init__(self, source: str, name: str) -> None:
        self.source, self.name = source, name

    @classmethod
    async def load(cls, url: str, http: httpx.AsyncClient) -> Program:
        """Read the program at `url` (ValueError with the reason when it cannot be read)."""
        parts = urlsplit(url)
        if parts.scheme == "file":
            path = Path(url[len("file://"):])
            try:
                return cls(path.read_text(), str(path))
            except OSError as exc:
                raise ValueError(f"cannot read {path}: {exc.strerror}") from None
        if parts.scheme == "base64":
            raw = url[len("base64://"):]
            try:
                return cls(base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_").decode(), "base64.jsonnet")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise ValueError("the base64:// program is not valid base64 text") from None
        if parts.scheme in ("http", "https"):
            try:
                resp = await http.get(url, timeout=10)
                resp.raise_for_status()
            except httpx.HTTPError as exc:
                raise ValueError(f"cannot fetch the program: {type(exc).__name__}") from None
            return cls(resp.text, url)
        raise ValueError("expected a file://, base64:// or http(s):// URL")

    async def text(self, *, ext: dict[str, Any] | None = None, tla: dict[str, Any] | None = None) -> str:
        """The JSON text the program returns, given `std.extVar` values `ext` and top-level arguments `tla`."""
        try:
            out: str = await asyncio.to_thread(
                rjsonnet.evaluate_snippet, self.name, self.source, import_callback=_refuse_imports,
                ext_codes={k: json.dumps(v) for k, v in (ext or {}).items()},
                tla_codes={k: json.dumps(v) for k, v in (tla or {}).items()})
        except RuntimeError as exc:
            raise JsonnetError(str(exc).splitlines()[0][:300]) from None
        return out

    async def value(self, *, ext: dict[str, Any] | None = None, tla: dict[str, Any] | None = None) -> Any:
        """The value the program returns (see `text`)."""
        return json.loads(await self.text(ext=ext, tla=tla))
