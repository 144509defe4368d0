"""E-mail templates as Kratos loads them: Go templates in Kratos' layout, compiled once at start.

Each part of each template type (`email.subject`, `email.body` (HTML, escaped as html/template does),
`email.body.plaintext`) comes from the first of:

1. `courier.templates.<name>.<valid|invalid>.email.{subject,body.html,body.plaintext}`: a `base64://`,
   `file://` or `http(s)://` URI (read once, at start);
2. the override directory (`courier.template_override_path`): `<name>/<valid|invalid>/<part>.gotmpl`, parsed
   together with the folder's other `<part>*.gotmpl` files (Kratos' ParseFS pattern: `{{ template
   "email.body.de.gotmpl" . }}` works), or `<part>.j2` (jinja2, see legacy.py);
3. the built-in template (`builtin/`, same layout).

SMS messages (`login_code`, `registration_code`, `verification_code`, `recovery_code`, valid only, as Kratos) have
one part, `sms.body`, from `courier.templates.<name>.valid.sms.body`, `<name>/valid/sms.body.gotmpl` in the
override directory, or the built-in one.

A part missing from the override directory falls back to the built-in one, as in Kratos (the plain-text
body is not derived from the HTML one). A template that does not parse is a `ConfigError` naming the file
and line; a `.gotmpl` file written in jinja2 is one too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from gatekeeper.config import Config
from gatekeeper.config.problems import ConfigError, ConfigProblem
from gatekeeper.gotemplate import TemplateError, compile_files
from gatekeeper.identity.courier.legacy import JINJA_STATEMENT, JinjaTemplate
from gatekeeper.identity.courier.models import FIELDS, TemplateType, model
from gatekeeper.identity.courier.sources import read_uris

SUBJECT, HTML, PLAINTEXT, SMS = "email.subject", "email.body", "email.body.plaintext", "sms.body"
SMS_KINDS = (TemplateType.LOGIN_CODE_VALID, TemplateType.REGISTRATION_CODE_VALID,
             TemplateType.VERIFICATION_CODE_VALID, TemplateType.RECOVERY_CODE_VALID)
PARTS = {"subject": SUBJECT, "body.html": HTML, "body.plaintext": PLAINTEXT}  # config key -> file stem
Render = Callable[[dict[str, Any], Mapping[str, Any]], str]  # (Kratos' model, template_data) -> text
_FIELD_AS_FUNCTION = re.compile(r'function "([A-Z]\w*)" not defined')
_BUILTIN = resources.files("gatekeeper.identity.courier") / "builtin"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str
    body_html: str


class _Found(Exception):  # noqa: N818 - a problem located in a template, reported as a ConfigProblem
    def __init__(self, file: str, line: int | None, key: str, message: str) -> None:
        self.problem = ConfigProblem(file, line, key, message)


class Templates:
    """Every template type's subject, HTML and plain-text template, compiled and checked at start.

    `inline` maps `<name>.<valid|invalid>.email.<part>` (the key under `courier.templates`) to its URI.
    """

    def __init__(self, override_path: str = "", inline: Mapping[str, str] | None = None, *,
                 config_file: str = "<config>", line_of: Callable[[str], int | None] = lambda key: None) -> None:
        self._override = Path(override_path) if override_path else None
        if self._override is not None and not self._override.is_dir():
            key = "courier.template_override_path"
            raise ConfigError([ConfigProblem(config_file, line_of(key), key, f"{override_path} is not a directory")])
        self._config_file = config_file
        self._line_of = line_of
        self._uris = dict(inline or {})
        texts, unreadable = read_uris(self._uris)
        problems = [ConfigProblem(config_file, line_of(f"courier.templates.{key}"), f"courier.templates.{key}",
                                  message) for key, message in unreadable.items()]
        inline_by_part = {_part_of(key): (key, text) for key, text in texts.items()}
        self._parts: dict[tuple[TemplateType, str], Render] = {}
        for kind in TemplateType:
            for stem in PARTS.values():
                try:
                    self._parts[kind, stem] = self._load(kind, stem, inline_by_part.get((kind.folder, stem)))
                except _Found as found:
                    problems.append(found.problem)
        for kind in SMS_KINDS:
            try:
                self._parts[kind, SMS] = self._load(kind, SMS, inline_by_part.get((kind.folder, SMS)))
            except _Found as found:
                problems.append(found.problem)
        if problems:
            raise ConfigError(problems)

    def render(self, kind: TemplateType, data: Mapping[str, Any]) -> RenderedEmail:
        """Subject (one line), plain-text and HTML body for `data` (keys as Kratos' template_data JSON)."""
        values = model(kind, data)
        subject = self._parts[kind, SUBJECT](values, data)
        return RenderedEmail(subject=" ".join(subject.split()), body=self._parts[kind, PLAINTEXT](values, data),
                             body_html=self._parts[kind, HTML](values, data))

    def render_sms(self, kind: TemplateType, data: Mapping[str, Any]) -> str:
        """The text of an SMS of `kind` (one of SMS_KINDS) for `data`."""
        return self._parts[kind, SMS](model(kind, data), data).strip()

    def _load(self, kind: TemplateType, stem: str, inline: tuple[str, str] | None) -> Render:
        html = stem == HTML
        if inline is not None:
            key, text = inline
            uri = self._uris[key]
            if uri.startswith("file://"):
                return _go({f"{stem}.gotmpl": text}, f"{stem}.gotmpl", kind, html,
                           lambda name: uri[len("file://"):], f"courier.templates.{key}")
            try:  # base64:// or http(s)://: the problem is placed at the config key, the template's line told
                return _go({f"{stem}.gotmpl": text}, f"{stem}.gotmpl", kind, html,
                           lambda name: self._config_file, f"courier.templates.{key}")
            except _Found as found:
                problem = found.problem
                where = f"{uri[:40]}... line {problem.line}" if problem.line else uri[:40]
                raise _Found(self._config_file, self._line_of(problem.path), problem.path,
                             f"{where}: {problem.message}") from None
        folder = self._override / kind.folder if self._override is not None else None
        if folder is not None and (folder / f"{stem}.gotmpl").is_file():
            files = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob(f"{stem}*.gotmpl"))}
            return _go(files, f"{stem}.gotmpl", kind, html, lambda name: str(folder / name),
                       "courier.template_override_path")
        if folder is not None and (folder / f"{stem}.j2").is_file():
            path = folder / f"{stem}.j2"
            try:
                jinja = JinjaTemplate(path.read_text(encoding="utf-8"), name=str(path), html=html)
            except TemplateError as exc:
                raise _Found(str(path), exc.line, "courier.template_override_path", exc.message) from None
            return lambda values, data: jinja.render({**data, **values})
        builtin = _BUILTIN / kind.folder / f"{stem}.gotmpl"
        return _go({builtin.name: builtin.read_text(encoding="utf-8")}, builtin.name, kind, html,
                   lambda name: f"<built-in>/{kind.folder}/{name}", "courier")


def templates_for(config: Config) -> Templates:
    """The courier templates `config` sets, compiled (what `serve` and `config check` load)."""
    courier = config.courier
    return Templates(courier.template_override_path, courier.templates.uris(),
                     config_file=config.source.file("courier"), line_of=config.source.line)


def _go(files: dict[str, str], main: str, kind: TemplateType, html: bool, path_of: Callable[[str], str],
        key: str) -> Render:
    """The Go template `main` of `files` for `kind`'s model; a problem names the file (`path_of(name)`) and line.

    A field the model does not have (`{{ .LoginCode }}` in a recovery template) is a problem at start: Kratos'
    models are Go structs, where it fails every send.
    """
    for name, text in files.items():
        for lineno, content in enumerate(text.splitlines(), start=1):
            if statement := JINJA_STATEMENT.search(content):
                raise _Found(path_of(name), lineno, key, (
                    f"{{% {statement.group(1)} %}} is jinja2, not Go template syntax: write it as a Go template "
                    f"({{{{ {statement.group(1)} ... }}}}) or rename the file to .j2"))
    try:
        template = compile_files(files, main, html=html)
    except TemplateError as exc:
        field = _FIELD_AS_FUNCTION.match(exc.message)
        hint = f" (a field is written with a dot: {{{{ .{field.group(1)} }}}})" if field else ""
        raise _Found(path_of(exc.name or main), exc.line, key, exc.message + hint) from None
    fields = [go for go, _, _ in FIELDS[kind]]
    unknown = sorted(template.root_fields - set(fields))
    if unknown:
        where = next((n for n, text in enumerate(files[main].splitlines(), 1) if f".{unknown[0]}" in text), None)
        raise _Found(path_of(main), where, key, f"{kind.value} templates have no field .{unknown[0]} "
                                               f"(they have {', '.join('.' + f for f in fields)})")
    return lambda values, data: template.render(values)


def _part_of(key: str) -> tuple[str, str]:
    """`login_code.valid.email.body.html` -> (`login_code/valid`, `email.body`); `.sms.body` -> `sms.body`."""
    name, validity, channel, part = key.split(".", 3)
    return f"{name}/{validity}", PARTS[part] if channel == "email" else SMS
