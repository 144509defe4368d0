"""The Ory Permission Language parser: the TypeScript subset Keto accepts, into namespaces (`ast.Namespace`).

    class Folder implements Namespace {
      related: { parents: Folder[]; viewers: (User | SubjectSet<Group, "members">)[] }
      permits = {
        view: (ctx: Context): boolean =>
          this.related.viewers.includes(ctx.subject) || this.related.parents.traverse((p) => p.permits.view(ctx)),
      }
    }

`parse` stops at the first syntax error; the type checks that follow (unknown namespaces and relations) report
every problem they find. Errors carry 1-based lines and 0-based columns, as Keto's `POST /opl/syntax/check`.
"""

from __future__ import annotations

from gatekeeper.permissions.ast import (
    Combine,
    ComputedSubjectSet,
    Invert,
    Namespace,
    Operator,
    Relation,
    Rewrite,
    SubjectType,
    TupleToSubjectSet,
)
from gatekeeper.permissions.opl_lexer import Kind, OplSyntaxError, Token, tokenize
from gatekeeper.permissions.opl_types import check_types


def parse(text: str) -> list[Namespace]:
    """The namespaces `text` declares; raises OplSyntaxError (the first syntax error)."""
    return _Parser(tokenize(text)).file()


def syntax_errors(text: str) -> list[OplSyntaxError]:
    """Every problem Keto's syntax check would report for `text` (empty: the document is fine)."""
    try:
        parser = _Parser(tokenize(text))
        parser.file()
    except OplSyntaxError as exc:
        return [exc]
    return check_types(parser.classes, parser.references)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.pos = tokens, 0
        self.classes: dict[str, tuple[Token, dict[str, Token], dict[str, Token], list[Relation]]] = {}
        self.references: list[tuple[str, str, Token, str]] = []  # (class, kind, token, name) to type-check
        self.current = ""

    # -- tokens
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.peek()
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return token

    def fail(self, token: Token, message: str) -> OplSyntaxError:
        return OplSyntaxError(message, token.start, token.end)

    def expect(self, value: str) -> Token:
        token = self.next()
        if token.value != value or token.kind not in (Kind.PUNCT, Kind.IDENT):
            raise self.fail(token, f"expected {value!r}, got {token.value or token.kind.value!r}")
        return token

    def ident(self) -> Token:
        token = self.next()
        if token.kind is not Kind.IDENT:
            raise self.fail(token, f"expected identifier, got {token.kind.value} {token.value!r}")
        return token

    def accept(self, value: str) -> bool:
        if self.peek().value == value and self.peek().kind is Kind.PUNCT:
            self.next()
            return True
        return False

    # -- file and classes
    def file(self) -> list[Namespace]:
        while self.peek().kind is not Kind.EOF:
            token = self.peek()
            if token.value == "import":
                self.skip_import()
            elif token.value in ("class", "export"):
                self.klass()
            else:
                raise self.fail(token, f"expected 'class' or 'import', got {token.value!r}")
        return [Namespace(name, {r.name: r for r in relations})
                for name, (_, _, _, relations) in self.classes.items()]

    def skip_import(self) -> None:
        self.next()
        while not (self.peek().kind is Kind.STRING or self.peek().kind is Kind.EOF):
            self.next()
        if self.next().kind is Kind.EOF:
            raise self.fail(self.peek(), "unterminated import statement")
        self.accept(";")

    def klass(self) -> None:
        if self.peek().value == "export":
            self.next()
        self.expect("class")
        name = self.ident()
        if name.value in self.classes:
            raise self.fail(name, f"namespace {name.value!r} is declared twice")
        self.expect("implements")
        self.expect("Namespace")
        self.expect("{")
        self.current = name.value
        related: dict[str, Token] = {}
        permits: dict[str, Token] = {}
        relations: list[Relation] = []
        self.classes[name.value] = (name, related, permits, relations)
        while not self.accept("}"):
            member = self.ident()
            if member.value == "related":
                self.expect(":")
                self.related_block(related, relations)
            elif member.value == "permits":
                self.expect("=")
                self.permits_block(related, permits, relations)
            else:
                raise self.fail(member, f"expected 'permits' or 'related', got {member.value!r}")
            self.accept(";")

    # -- related: { name: Type[]; ... }
    def related_block(self, related: dict[str, Token], relations: list[Relation]) -> None:
        self.expect("{")
        while not self.accept("}"):
            name = self.ident()
            if name.value in related:
                raise self.fail(name, f"relation {name.value!r} is declared twice")
            self.expect(":")
            related[name.value] = name
            relations.append(Relation(name.value, self.relation_type()))
            _ = self.accept(";") or self.accept(",")  # separators are optional, as in TypeScript

    def relation_type(self) -> tuple[SubjectType, ...]:
        if self.peek().value == "Array":
            self.next()
            self.expect("<")
            types = self.type_union()
            self.expect(">")
            return types
        if self.accept("("):
            types = self.type_union()
            self.expect(")")
        else:
            types = (self.single_type(),)
        self.expect("[")
        self.expect("]")
        return types

    def type_union(self) -> tuple[SubjectType, ...]:
        types = [self.single_type()]
        while self.accept("|"):
            types.append(self.single_type())
        return tuple(types)

    def single_type(self) -> SubjectType:
        name = self.ident()
        if name.value != "SubjectSet":
            self.references.append((self.current, "namespace", name, name.value))
            return SubjectType(name.value)
        self.expect("<")
        namespace = self.ident()
        self.expect(",")
        relation = self.next()
        if relation.kind is not Kind.STRING:
            raise self.fail(relation, f"expected a relation name in quotes, got {relation.value!r}")
        self.expect(">")
        self.references.append((self.current, "namespace", namespace, namespace.value))
        self.references.append((namespace.value, "relation", relation, relation.value))
        return SubjectType(namespace.value, relation.value)

    # -- permits = { name: (ctx: Context): boolean => expression, ... }
    def permits_block(self, related: dict[str, Token], permits: dict[str, Token], relations: list[Relation]) -> None:
        self.expect("{")
        while not self.accept("}"):
            name = self.ident()
            if name.value in permits or name.value in related:
                raise self.fail(name, f"relation {name.value!r} is declared twice")
            permits[name.value] = name
            self.expect(":")
            self.expect("(")
            self.ident()
            if self.accept(":"):
                self.ident()
            self.expect(")")
            if self.accept(":"):
                self.ident()
            self.expect("=>")
            body = self.expression()
            rewrite = body if isinstance(body, Combine) else Combine(Operator.OR, (body,))
            relations.append(Relation(name.value, (), rewrite))
            if not self.accept(",") and self.peek().value != "}":
                raise self.fail(self.peek(), f"expected ',' or '}}', got {self.peek().value!r}")

    def expression(self) -> Rewrite:
        children = [self.conjunction()]
        while self.accept("||"):
            children.append(self.conjunction())
        return children[0] if len(children) == 1 else Combine(Operator.OR, tuple(children))

    def conjunction(self) -> Rewrite:
        children = [self.unary()]
        while self.accept("&&"):
            children.append(self.unary())
        return children[0] if len(children) == 1 else Combine(Operator.AND, tuple(children))

    def unary(self) -> Rewrite:
        if self.accept("!"):
            return Invert(self.unary())
        if self.accept("("):
            inner = self.expression()
            self.expect(")")
            return inner
        start = self.peek()
        if start.value != "this":
            raise self.fail(start, f"expected 'this', '!' or '(', got {start.value or start.kind.value!r}")
        self.next()
        self.expect(".")
        return self.member(self.current)

    def member(self, namespace: str, *, via: str | None = None) -> Rewrite:
        """After `this.` (or a traverse parameter's `p.`): `related.x.includes(ctx.subject)`,
        `related.x.traverse(...)` or `permits.x(ctx)`."""
        verb = self.ident()
        if verb.value == "permits":
            self.expect(".")
            name = self.ident()
            self.call_with_ctx()
            self.note(via, "permission", name, namespace)
            return ComputedSubjectSet(name.value)
        if verb.value != "related":
            raise self.fail(verb, f"expected 'related' or 'permits', got {verb.value!r}")
        self.expect(".")
        name = self.ident()
        self.expect(".")
        method = self.ident()
        self.note(via, "related", name, namespace)
        if method.value == "includes":
            self.expect("(")
            self.expect("ctx")
            self.expect(".")
            self.expect("subject")
            self.expect(")")
            return ComputedSubjectSet(name.value)
        if method.value == "traverse" and via is None:
            return self.traverse(name)
        raise self.fail(method, f"expected 'traverse' or 'includes', got {method.value!r}")

    def traverse(self, relation: Token) -> Rewrite:
        self.expect("(")
        parenthesised = self.accept("(")
        parameter = self.ident()
        if parenthesised:
            self.expect(")")
        self.expect("=>")
        variable = self.ident()
        if variable.value != parameter.value:
            raise self.fail(variable, f"expected {parameter.value!r}, got {variable.value!r}")
        self.expect(".")
        inner = self.member(self.current, via=relation.value)
        self.expect(")")
        if not isinstance(inner, ComputedSubjectSet):  # member() does not traverse within a traversal
            raise self.fail(variable, "a traversal can only check a relation or permission")
        return TupleToSubjectSet(relation.value, inner.relation)

    def call_with_ctx(self) -> None:
        self.expect("(")
        self.expect("ctx")
        self.expect(")")

    def note(self, via: str | None, kind: str, token: Token, namespace: str) -> None:
        """Remember a reference for the type checks: in this class, or (`via`) in the types of a relation."""
        if via is None:
            self.references.append((namespace, kind, token, token.value))
        else:
            self.references.append((namespace, f"traverse:{via}", token, token.value))
