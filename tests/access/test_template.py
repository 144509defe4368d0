"""Rule templates: what rule files use renders as Oathkeeper; what does not parse fails at load."""

from __future__ import annotations

import pytest

from gatekeeper.access.template import HeaderMap, TemplateError, URLView, compile_template

DATA = {
    "Subject": "user-1",
    "Extra": {"identity": {"traits": {"email": "a@example.com"}, "id": "user-1"}, "n": 3.0, "list": ["x", "y"]},
    "Header": HeaderMap(lambda name: ""),
    "MatchContext": {"RegexpCaptureGroups": ["g0", "g1"], "Method": "GET",
                     "Header": HeaderMap(lambda name: "acme" if name.lower() == "x-tenant" else ""),
                     "URL": URLView("https", "h", "/p", "a=1&b=2")},
}


@pytest.mark.parametrize(("source", "rendered"), [
    ("{{ print .Subject }}", "user-1"),
    ("{{ print .Extra.identity.traits.email }}", "a@example.com"),
    ("{{ .Extra.missing }}", "<no value>"),
    ("{{ print .Extra.missing }}", ""),
    ("{{ index .MatchContext.RegexpCaptureGroups 1 }}", "g1"),
    ("{{ printIndex .MatchContext.RegexpCaptureGroups 5 }}", ""),
    ('{{ .MatchContext.Header.Get "X-Tenant" }}', "acme"),
    ('{{ .MatchContext.URL.Query.Get "b" }}', "2"),
    ("{{ .MatchContext.URL.Path }}", "/p"),
    ('{{ printf "%s:%v" .Subject .Extra.n }}', "user-1:3"),
    ('{{ index .Extra "list" }}', "[x y]"),
    ("{{ .Extra.identity.traits | toJson }}", '{"email":"a@example.com"}'),
    ('{{ .Extra.missing | default "anon" }}', "anon"),
    ("{{- if .Subject -}} yes {{- else -}} no {{- end -}}", "yes"),
    ("{{ if .Extra.missing }}yes{{ else }}no{{ end }}", "no"),
    ("a {{/* comment */}}b", "a b"),
    ("{{ range .Extra.list }}{{ . }}{{ end }}", "xy"),
    ('{{ define "x" }}<{{ . }}>{{ end }}{{ template "x" .Subject }}', "<user-1>"),
])
def test_renders_like_oathkeeper(source: str, rendered: str) -> None:
    assert compile_template(source).render(DATA) == rendered


@pytest.mark.parametrize("source", [
    "{{ .Nope }}",
    "{{ $.Nope }}",
    "{{ exec 1 }}",
    "{{ print .Subject",
    "{{ if .Subject }}unterminated",
    "{{ range .Extra.list }}{{ . }}",
])
def test_unsupported_constructs_fail_at_compile_time(source: str) -> None:
    with pytest.raises(TemplateError):
        compile_template(source)


def test_index_out_of_range_is_an_error_at_render_time() -> None:
    template = compile_template("{{ index .MatchContext.RegexpCaptureGroups 9 }}")
    with pytest.raises(TemplateError):
        template.render(DATA)
