"""Go templates as Go renders them: the language, Go's functions, Sprig's, and html/template's escaping."""

from __future__ import annotations

import pytest

from gatekeeper.gotemplate import TemplateError, compile_files, compile_template

DATA = {
    "Name": "ada lovelace", "Code": "1+1<2", "N": 3, "F": 1.5, "Empty": "",
    "Identity": {"id": "9f5a", "traits": {"email": "ada@example.com", "name": {"first": "Ada"}}, "tags": ["a", "b"]},
    "Payload": {"b": 2, "a": 1}, "Link": "https://app.example/v?flow=1&code=2", "Bad": "javascript:alert(1)",
}


@pytest.mark.parametrize(("source", "rendered"), [
    pytest.param("{{ .Identity.traits.email }}", "ada@example.com", id="field chain through maps"),
    pytest.param("{{ .Identity.traits.missing }}", "<no value>", id="missing key prints <no value>"),
    pytest.param("{{ .Identity.nothing.deeper }}", "<no value>", id="missing all the way down"),
    pytest.param("{{ if .Empty }}a{{ else if .N }}b{{ else }}c{{ end }}", "b", id="else if"),
    pytest.param("{{ with .Identity.traits.name }}{{ .first }}{{ else }}anon{{ end }}", "Ada", id="with sets dot"),
    pytest.param("{{ with .Identity.traits.nick }}{{ . }}{{ else with .Name }}{{ . }}{{ end }}", "ada lovelace",
                 id="else with"),
    pytest.param("{{ range $i, $t := .Identity.tags }}{{ $i }}:{{ $t }} {{ end }}", "0:a 1:b ", id="range index"),
    pytest.param("{{ range $k, $v := .Payload }}{{ $k }}={{ $v }};{{ end }}", "a=1;b=2;", id="range map sorted"),
    pytest.param("{{ range .Identity.none }}x{{ else }}empty{{ end }}", "empty", id="range else"),
    pytest.param("{{ range .Identity.tags }}{{ if eq . \"b\" }}{{ break }}{{ end }}{{ . }}{{ end }}", "a", id="break"),
    pytest.param("{{ $n := .N }}{{ $n = add $n 1 }}{{ $n }} {{ $.Name }}", "4 ada lovelace", id="variables"),
    pytest.param("{{ and .N .Empty }}|{{ or .Empty .Name }}|{{ not .Empty }}", "|ada lovelace|true", id="and or not"),
    pytest.param("{{ eq .N 1 2 3 }} {{ ne .Name \"x\" }} {{ lt .N 4 }} {{ ge .F 1.5 }}", "true true true true",
                 id="comparisons"),
    pytest.param("{{ len .Identity.tags }} {{ index .Identity \"id\" }} {{ index .Identity.tags 1 }}", "2 9f5a b",
                 id="len and index"),
    pytest.param('{{ printf "%s has %d (%.1f) %q" .Name .N .F .Code }}', 'ada lovelace has 3 (1.5) "1+1<2"',
                 id="printf"),
    pytest.param("{{ print .Identity.traits.missing }}", "<nil>", id="print of nil"),
    pytest.param('{{ define "hi" }}Hi {{ . }}{{ end }}{{ template "hi" .Name }}', "Hi ada lovelace", id="define"),
    pytest.param('{{ block "sig" . }}-- {{ .N }}{{ end }}', "-- 3", id="block"),
    pytest.param("a  {{- /* a comment */ -}}  b {{- .N }}", "ab3", id="comments and trim markers"),
    pytest.param("{{ (index .Identity.tags 0) | upper }}", "A", id="parenthesised pipeline"),
    pytest.param("{{ .Name | title }} {{ .Name | upper | trunc 3 }} {{ cat \"a\" .Nope \"b\" }}",
                 "Ada Lovelace ADA a b", id="sprig strings"),
    pytest.param('{{ default "friend" .Identity.traits.nick }} {{ .Name | replace " " "-" | nospace }}',
                 "friend ada-lovelace", id="sprig default and replace"),
    pytest.param('{{ .Code | b64enc }} {{ "MSsxPDI=" | b64dec }} {{ toJson .Payload }}',
                 'MSsxPDI= 1+1<2 {"b":2,"a":1}', id="sprig encodings"),
    pytest.param('{{ $d := dict "x" 1 }}{{ get $d "x" }} {{ list 1 2 | last }} {{ hasKey $d "y" }}',
                 "1 2 false", id="sprig lists and dicts"),
    pytest.param('{{ regexReplaceAll "(\\\\d)" .Code "<${1}>" }} {{ contains "love" .Name }}', "<1>+<1><<2> true",
                 id="sprig regex"),
    pytest.param('{{ ternary "yes" "no" (gt .N 2) }} {{ .Name | splitList " " | join "," }}', "yes ada,lovelace",
                 id="sprig ternary, split and join"),
])
def test_renders_as_go(source: str, rendered: str) -> None:
    assert compile_template(source).render(DATA) == rendered


@pytest.mark.parametrize(("source", "rendered"), [
    pytest.param("<p>{{ .Code }}</p>", "<p>1&#43;1&lt;2</p>", id="element text"),
    pytest.param("<p>{{ .Identity.traits.missing }}</p>", "<p></p>", id="missing prints nothing"),
    pytest.param('<a href="{{ .Link }}">{{ .Link }}</a>',
                 '<a href="https://app.example/v?flow=1&amp;code=2">https://app.example/v?flow=1&amp;code=2</a>',
                 id="url attribute"),
    pytest.param('<a href="{{ .Bad }}">x</a>', '<a href="#ZgotmplZ">x</a>', id="unsafe scheme refused"),
    pytest.param('<a href="https://app.example/?q={{ .Name }}">x</a>',
                 '<a href="https://app.example/?q=ada%20lovelace">x</a>', id="url query part"),
    pytest.param("<input value={{ .Name }}>", "<input value=ada&#32;lovelace>", id="unquoted attribute"),
    pytest.param("<script>var n = {{ .Code }};</script>", '<script>var n = "1+1\\u003c2";</script>', id="script"),
    pytest.param("<p>a<!-- {{ .Name }} -->b</p>", "<p>ab</p>", id="comments dropped"),
])
def test_html_templates_escape_by_context(source: str, rendered: str) -> None:
    assert compile_template(source, html=True).render(DATA) == rendered


@pytest.mark.parametrize(("source", "line", "message"), [
    pytest.param("a\n{{ if .N }}\nb", 3, "missing {{ end }}", id="unclosed if"),
    pytest.param("a\nb\n{{ nope .N }}", 3, 'function "nope" not defined', id="unknown function"),
    pytest.param("{{ $x }}", 1, "undefined variable", id="undefined variable"),
    pytest.param("a\n{{ .N", 2, "unclosed action", id="unclosed action"),
    pytest.param("{{ end }}", 1, "unexpected {{ end }}", id="stray end"),
    pytest.param("{{ break }}", 1, "outside {{ range }}", id="break outside range"),
    pytest.param('{{ "\\q" }}', 1, "bad literal", id="bad escape"),
])
def test_parse_errors_name_the_line(source: str, line: int, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        compile_template(source, name="email.body.gotmpl")
    assert caught.value.line == line and message in caught.value.message
    assert str(caught.value).startswith(f"email.body.gotmpl:{line}: ")


@pytest.mark.parametrize("source", [
    pytest.param("{{ index .Identity.tags 5 }}", id="index out of range"),
    pytest.param("{{ len .N }}", id="len of a number"),
    pytest.param('{{ template "missing" }}', id="unknown template"),
    pytest.param('{{ define "loop" }}{{ template "loop" . }}{{ end }}{{ template "loop" . }}', id="endless recursion"),
    pytest.param("{{ .Name.__class__ }}", id="no Python internals"),
    pytest.param('{{ fail "no" }}', id="fail"),
])
def test_execution_errors_are_template_errors(source: str) -> None:
    template = compile_template(source)
    with pytest.raises(TemplateError):
        template.render(DATA)


def test_files_parsed_together_call_each_other_by_name() -> None:
    files = {"email.body.gotmpl": '{{ if eq .Lang "de" }}{{ template "email.body.de.gotmpl" . }}{{ else }}Hi{{ end }}',
             "email.body.de.gotmpl": "Hallo {{ .Name }}"}
    template = compile_files(files, "email.body.gotmpl")
    assert template.render({"Lang": "de", "Name": "Ada"}) == "Hallo Ada"
    assert template.render({"Lang": "en", "Name": "Ada"}) == "Hi"


@pytest.mark.parametrize("source", [
    pytest.param("{{ .N.Nope }}", id="a field of a number, alone"),
    pytest.param("a\n{{ index .Identity.tags 5 }}", id="a function's failure after text"),
    pytest.param('a\n{{ .Name "x" }} b', id="an argument to a field that is no method"),
    pytest.param("a\n{{ if .N }}{{ len .N }}{{ end }}", id="inside an if"),
])
def test_execution_errors_name_the_template_and_the_line(source: str) -> None:
    with pytest.raises(TemplateError) as caught:
        compile_template(source, name="email.body.gotmpl").render(DATA)
    assert str(caught.value).startswith(f"email.body.gotmpl:{source.count(chr(10)) + 1}: ")
