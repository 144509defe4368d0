"""html/template's contextual escaping, reduced to what e-mail bodies need.

Each `{{ }}` output is given an escaper by where it stands in the HTML around it: element text, a
quoted or unquoted attribute value, a URL attribute (start, path or query), an event-handler attribute
or `<script>`, a `style` attribute or `<style>`, or a tag itself. The escapers are the standard
library's and markupsafe's, composed as Go composes its own; HTML comments in the template are dropped,
as Go drops them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from markupsafe import escape

from gatekeeper.gotemplate.nodes import Branch, Node, Output, Text
from gatekeeper.gotemplate.values import go_str

Escaper = Callable[[Any], str]
_URL_ATTRS = frozenset({"action", "archive", "background", "cite", "classid", "codebase", "data", "formaction",
                        "href", "icon", "longdesc", "manifest", "poster", "profile", "src", "usemap", "xmlns"})
_RAW_ELEMENTS = frozenset({"script", "style", "textarea", "title"})
_SAFE_SCHEMES = ("http", "https", "mailto")
_NOSPACE = str.maketrans({" ": "&#32;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;", "=": "&#61;", "`": "&#96;"})
_SAFE_CSS = re.compile(r"^[\w\s#.,%+\-]*$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9\-]+$")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:\-]*)")
UNSAFE = "ZgotmplZ"  # Go's marker for a value refused in its context


def html_text(value: Any) -> str:
    """Go's htmlEscaper: `< > & ' " +` as character references, NUL as U+FFFD."""
    return str(escape(go_str(value))).replace("+", "&#43;").replace("\0", "\ufffd")


def _url_filter(text: str) -> str:
    scheme, colon, _ = text.partition(":")
    if colon and "/" not in scheme and scheme.lower() not in _SAFE_SCHEMES:
        return "#" + UNSAFE
    return text


def _url_normalize(text: str) -> str:
    return quote(text, safe="!#$&'()*+,-./:;=?@[]_~%")


def _js_value(value: Any) -> str:
    encoded = json.dumps(value if isinstance(value, str | int | float | bool | list | dict) else go_str(value))
    return encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@dataclass
class _Context:
    """Where the HTML parse stands: `state` is text | tag | after_name | before_value | value | raw | comment."""

    state: str = "text"
    element: str = ""
    attr: str = ""
    quote: str = ""
    value: str = ""

    def escaper(self) -> Escaper:
        """The escaper for a value printed here."""
        if self.state == "raw":
            return {"script": lambda v: _js_value(v), "style": _css}.get(self.element, html_text)
        if self.state in ("tag", "after_name"):
            return lambda v: go_str(v) if _SAFE_NAME.match(go_str(v)) else UNSAFE
        if self.state == "comment":
            return lambda v: ""
        if self.state not in ("value", "before_value"):
            return html_text
        attr_escape = html_text if self.quote else (lambda v: html_text(v).translate(_NOSPACE))
        if self.attr.startswith("on"):
            return lambda v: attr_escape(_js_value(v))
        if self.attr == "style":
            return lambda v: attr_escape(_css(v))
        if self.attr in _URL_ATTRS or any(word in self.attr for word in ("url", "uri", "src")):
            if not self.value:
                return lambda v: attr_escape(_url_normalize(_url_filter(go_str(v))))
            if "?" in self.value or "#" in self.value:
                return lambda v: attr_escape(quote(go_str(v), safe=""))
            return lambda v: attr_escape(_url_normalize(go_str(v)))
        return attr_escape

    def printed(self) -> None:
        """A value was printed here: an attribute value is no longer at its start."""
        if self.state == "before_value":
            self.state, self.quote, self.value = "value", "", ""
        if self.state == "value":
            self.value += "x"

    def feed(self, text: str) -> str:
        """Move through literal `text`; returns it with HTML comments removed."""
        out: list[str] = []
        i = 0
        while i < len(text):
            i = getattr(self, f"_{self.state}")(text, i, out)
        return "".join(out)

    def _text(self, text: str, i: int, out: list[str]) -> int:
        lt = text.find("<", i)
        if lt < 0:
            out.append(text[i:])
            return len(text)
        out.append(text[i:lt])
        if text.startswith("<!--", lt):
            self.state = "comment"
            return lt + 4
        tag = _TAG.match(text, lt)
        if not tag:
            out.append("<")
            return lt + 1
        out.append(tag.group(0))
        self.state, self.element = "tag", ("/" if tag.group(1) else "") + tag.group(2).lower()
        return tag.end()

    def _comment(self, text: str, i: int, out: list[str]) -> int:
        end = text.find("-->", i)
        if end < 0:
            return len(text)
        self.state = "text"
        return end + 3

    def _raw(self, text: str, i: int, out: list[str]) -> int:
        close = re.compile(rf"</{self.element}\b", re.IGNORECASE).search(text, i)
        if not close:
            out.append(text[i:])
            return len(text)
        out.append(text[i:close.start()])
        return self._text(text, close.start(), out)

    def _tag(self, text: str, i: int, out: list[str]) -> int:
        m = re.compile(r"\s*(/?>|[^\s/>=]+|/)").match(text, i)
        if not m:
            out.append(text[i:])
            return len(text)
        out.append(m.group(0))
        part = m.group(1)
        if part.endswith(">"):
            raw = self.element in _RAW_ELEMENTS and part == ">"
            self.state = "raw" if raw else "text"
        elif part != "/":
            self.state, self.attr = "after_name", part.lower()
        return m.end()

    def _after_name(self, text: str, i: int, out: list[str]) -> int:
        m = re.compile(r"\s*=").match(text, i)
        if m:
            out.append(m.group(0))
            self.state, self.quote, self.value = "before_value", "", ""
            return m.end()
        self.state = "tag"
        return i

    def _before_value(self, text: str, i: int, out: list[str]) -> int:
        m = re.compile(r"\s*").match(text, i)
        j = m.end() if m else i
        out.append(text[i:j])
        if j >= len(text):
            return j
        self.state, self.value = "value", ""
        self.quote = text[j] if text[j] in "\"'" else ""
        if self.quote:
            out.append(self.quote)
            return j + 1
        return j

    def _value(self, text: str, i: int, out: list[str]) -> int:
        end = text.find(self.quote, i) if self.quote else _unquoted_end(text, i)
        if end < 0:
            out.append(text[i:])
            self.value += text[i:]
            return len(text)
        out.append(text[i:end])
        self.value += text[i:end]
        self.state = "tag"
        if self.quote:
            out.append(self.quote)
            return end + 1
        return end


def _unquoted_end(text: str, i: int) -> int:
    m = re.compile(r"[\s>]").search(text, i)
    return m.start() if m else -1


def _css(value: Any) -> str:
    text = go_str(value)
    return text if _SAFE_CSS.match(text) else UNSAFE


def escape_html(nodes: list[Node]) -> None:
    """Give every output in `nodes` the escaper of its HTML context (the tree is analysed in source order)."""
    _walk(nodes, _Context())


def _walk(nodes: list[Node], context: _Context) -> None:
    for node in nodes:
        if isinstance(node, Text):
            node.text = context.feed(node.text)
        elif isinstance(node, Output):
            if not node.pipe.decls:
                node.escape = context.escaper()
                context.printed()
        elif isinstance(node, Branch):  # if, with, range
            _walk(node.then, context)
            _walk(node.otherwise, context)
