"""Query text -> query tree: a strict parser for code and a lenient one for search boxes.

Syntax (see ``docs/query-syntax.md``)::

    বাজেট ঘাটতি              words: any may match, more matches rank higher
    "শেখ হাসিনা"             phrase
    title:বাজেট  title:(a b)  field
    +must -mustnot  NOT x     required / excluded
    a AND b   a OR b          explicit operators (upper case)
    (a OR b) AND c            grouping
    প্র*   বাজট~  বাজট~2      prefix, fuzzy (1 or 2 letter edits)
    বাজেট^2  "a b"^3  (a b)^2  boost
    \\+ \\: \\"               a backslash makes a syntax character literal

Precedence, tightest first: ``+``/``-``/``NOT``, ``AND``, juxtaposition, ``OR``.

:func:`parse_query` with ``strict=True`` raises :class:`QuerySyntaxError` naming the
0-based character position of the problem. With ``strict=False`` (what ``search()`` uses
for user strings) it never raises for any ``str``: a malformed query degrades to its words.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Literal

import attrs

from bnsearch.errors import QuerySyntaxError
from bnsearch.search.query import (
    MAX_BOOST,
    MIN_BOOST,
    SYNTAX_CHARACTERS,
    Bool,
    Fuzzy,
    MatchAll,
    Phrase,
    Prefix,
    Query,
    Term,
    with_field,
)

#: Deepest nesting of parentheses accepted (deeper input is an error, or words when lenient).
MAX_DEPTH = 32
#: The longest query string searched (a longer one raises QuerySyntaxError): room for a
#: pasted text of thousands of words (cut to MAX_CLAUSES distinct ones, 0.13 CPU-s at
#: this length on 100k articles); a 4 MB query from standard input took 51 s and 543 MB
#: before there was a bound. The web form's own limit is 1,000.
MAX_QUERY_CHARS = 100_000

_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BOOST = re.compile(r"\d+(\.\d+)?|\.\d+")
_BREAK = frozenset('"()')
_OPERATORS = {"AND": "and", "OR": "or", "NOT": "not"}

Kind = Literal[
    "all",
    "word",
    "phrase",
    "lparen",
    "rparen",
    "and",
    "or",
    "not",
    "plus",
    "minus",
    "field",
    "modifier",
]
Occur = Literal["must", "should", "must_not"]


@attrs.frozen
class _Token:
    kind: Kind
    position: int
    text: str = ""
    # word tokens: how the word ends ("", "prefix" or "fuzzy"), fuzzy distance, boost
    mode: str = ""
    distance: int = 1
    boost: float = 1.0


class _Lexer:
    def __init__(
        self, query: str, fields: Collection[str] | None, notes: list[str] | None = None
    ) -> None:
        self.query = query
        self.fields = fields
        self.tokens: list[_Token] = []
        # lenient parsing: where to say what was changed (None: strict, raise instead)
        self.notes = notes

    def error(self, message: str, position: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, query=self.query, position=position)

    def run(self) -> list[_Token]:
        query = self.query
        i = 0
        after_close = False
        while i < len(query):
            char = query[i]
            if char.isspace():
                i += 1
                after_close = False
            elif char == "(":
                self.tokens.append(_Token("lparen", i))
                i += 1
                after_close = False
            elif char == ")":
                self.tokens.append(_Token("rparen", i))
                i += 1
                after_close = True
            elif char == '"':
                end = query.find('"', i + 1)
                if end < 0:
                    raise self.error("unterminated phrase: add the closing quote", i)
                self.tokens.append(_Token("phrase", i, text=query[i + 1 : end]))
                i = end + 1
                after_close = True
            else:
                i = self._bare(i, after_close)
                after_close = False
        return self.tokens

    def _bare(self, start: int, after_close: bool) -> int:
        """Lex one run of characters up to whitespace, a quote or a parenthesis."""
        query = self.query
        # chars: (character, escaped?, position)
        chars: list[tuple[str, bool, int]] = []
        i = start
        while i < len(query):
            char = query[i]
            if char.isspace() or char in _BREAK:
                break
            if char == "\\":
                if i + 1 >= len(query):
                    raise self.error("a backslash must be followed by the character it escapes", i)
                chars.append((query[i + 1], True, i))
                i += 2
                continue
            chars.append((char, False, i))
            i += 1
        if all(c in "+-" and not esc for c, esc, _ in chars) and (
            i >= len(query) or query[i].isspace()
        ):
            raise self.error(f"{chars[0][0]!r} must touch the clause it applies to", start)
        self._interpret(chars, after_close)
        return i

    def _interpret(self, chars: list[tuple[str, bool, int]], after_close: bool) -> None:
        plain = "".join(c for c, _, _ in chars)
        escaped_any = any(esc for _, esc, _ in chars)
        start = chars[0][2]
        if not escaped_any and plain in _OPERATORS:
            self.tokens.append(_Token(_OPERATORS[plain], start))  # type: ignore[arg-type]
            return
        if after_close and not chars[0][1] and chars[0][0] in "^~":
            # a modifier straight after ``)`` or a closing quote: ``(a b)^2``, ``"a b"^2``
            self.tokens.append(self._modifier(chars))
            return
        k = 0
        while k < len(chars) and not chars[k][1] and chars[k][0] in "+-":
            self.tokens.append(_Token("plus" if chars[k][0] == "+" else "minus", chars[k][2]))
            k += 1
            if k < len(chars) and not chars[k][1] and chars[k][0] in "+-":
                raise self.error("two operators in a row", chars[k][2])
        rest = chars[k:]
        if not rest:
            return
        rest_plain = "".join(c for c, _, _ in rest)
        if (
            not any(esc for _, esc, _ in rest)
            and rest_plain.startswith("*:*")
            and rest_plain[3:4] in ("", "^")
        ):
            at = rest[0][2]
            self.tokens.append(_Token("all", at))
            if rest_plain[3:]:
                boost = self._boost(rest_plain[4:], at + 3)
                self.tokens.append(_Token("modifier", at + 3, boost=boost))
            return
        colon = next((j for j, (c, esc, _) in enumerate(rest) if c == ":" and not esc), None)
        if colon is not None:
            name = "".join(c for c, _, _ in rest[:colon])
            name_escaped = any(esc for _, esc, _ in rest[:colon])
            if not name_escaped and _FIELD_NAME.fullmatch(name):
                if self.fields is not None and name not in self.fields:
                    known = ", ".join(sorted(self.fields)) or "none"
                    raise self.error(f"unknown field {name!r} (known fields: {known})", rest[0][2])
                self.tokens.append(_Token("field", rest[0][2], text=name))
                rest = rest[colon + 1 :]
                if not rest:
                    return
                if not rest[0][1] and rest[0][0] == ":":
                    raise self.error("two colons in a row", rest[0][2])
        self.tokens.append(self._word(rest))

    def _modifier(self, chars: list[tuple[str, bool, int]]) -> _Token:
        text = "".join(c for c, _, _ in chars)
        position = chars[0][2]
        boost = 1.0
        if text.startswith("^"):
            boost = self._boost(text[1:], position)
        else:
            raise self.error(
                "'~' after a phrase or group is not supported (no proximity search)", position
            )
        return _Token("modifier", position, boost=boost)

    def _boost(self, text: str, position: int) -> float:
        if not _BOOST.fullmatch(text):
            raise self.error("a boost must be a number, like ^2 or ^0.5", position)
        value = float(text)
        if not MIN_BOOST <= value <= MAX_BOOST:
            raise self.error(
                f"a boost must be at least {MIN_BOOST:f} and at most {MAX_BOOST:.0f}", position
            )
        return value

    def _word(self, chars: list[tuple[str, bool, int]]) -> _Token:
        position = chars[0][2]
        boost = 1.0
        caret = next((j for j, (c, esc, _) in enumerate(chars) if c == "^" and not esc), None)
        if caret is not None:
            boost = self._boost("".join(c for c, _, _ in chars[caret + 1 :]), chars[caret][2])
            chars = chars[:caret]
        mode = ""
        distance = 1
        tilde = next((j for j, (c, esc, _) in enumerate(chars) if c == "~" and not esc), None)
        if tilde is not None:
            tail = "".join(c for c, _, _ in chars[tilde + 1 :])
            if tail.isascii() and tail.isdigit() and int(tail) > 2:
                message = (
                    f"fuzzy distance {tail} is too large: at most 2 letter edits "
                    "(write word~ or word~2)"
                )
                if self.notes is None:
                    raise self.error(message, chars[tilde][2])
                self.notes.append(f"{message}; searched with 2 at position {chars[tilde][2]}")
                tail = "2"
            if tail not in ("", "1", "2"):
                raise self.error(
                    "fuzzy distance must be 1 or 2 (write word~ or word~2)", chars[tilde][2]
                )
            mode, distance = "fuzzy", int(tail or 1)
            chars = chars[:tilde]
        for j, (char, esc, pos) in enumerate(chars):
            if esc:
                continue
            if char == "*":
                if j != len(chars) - 1:
                    raise self.error("'*' is only allowed at the end of a word (prefix*)", pos)
                if mode:
                    raise self.error("a word cannot be both a prefix and fuzzy", pos)
                mode = "prefix"
            elif char in "~^:":
                raise self.error(f"unexpected {char!r} inside a word (escape it as \\{char})", pos)
        if mode == "prefix":
            chars = chars[:-1]
        text = "".join(c for c, _, _ in chars)
        if not text.strip():
            what = {"prefix": "'*'", "fuzzy": "'~'"}.get(mode, "a boost")
            raise self.error(f"{what} needs a word before it", position)
        return _Token("word", position, text=text, mode=mode, distance=distance, boost=boost)


class _Parser:
    def __init__(self, query: str, tokens: list[_Token]) -> None:
        self.query = query
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def error(self, message: str, position: int | None = None) -> QuerySyntaxError:
        if position is None:
            position = (
                self.tokens[self.i].position if self.i < len(self.tokens) else len(self.query)
            )
        return QuerySyntaxError(message, query=self.query, position=position)

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def parse(self) -> Query:
        query = self.parse_or()
        token = self.peek()
        if token is not None:
            raise self.error("unbalanced ')': no '(' opened it", token.position)
        return query

    def parse_or(self) -> Query:
        branches = [self.parse_seq()]
        while (token := self.peek()) is not None and token.kind == "or":
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in ("or", "rparen"):
                raise self.error("OR needs a clause on both sides", token.position)
            branches.append(self.parse_seq())
        if len(branches) == 1:
            return branches[0]
        should: list[Query] = []
        for branch in branches:
            if (
                isinstance(branch, Bool)
                and not branch.must
                and not branch.must_not
                and branch.boost == 1.0
            ):
                should.extend(branch.should)
            else:
                should.append(branch)
        return Bool(should=should)

    def parse_seq(self) -> Query:
        clauses: list[tuple[Occur, Query]] = []
        while (token := self.peek()) is not None and token.kind not in ("or", "rparen"):
            if token.kind == "and":
                raise self.error("AND needs a clause on both sides", token.position)
            clauses.append(self.parse_and())
        if not clauses:
            token = self.peek()
            if token is not None and token.kind == "or":
                raise self.error("OR needs a clause on both sides", token.position)
            return Bool()
        return _combine(clauses)

    def parse_and(self) -> tuple[Occur, Query]:
        units = [self.parse_unary()]
        while (token := self.peek()) is not None and token.kind == "and":
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in ("and", "or", "rparen"):
                raise self.error("AND needs a clause on both sides", token.position)
            units.append(self.parse_unary())
        if len(units) == 1:
            return units[0]
        must = [q for occur, q in units if occur != "must_not"]
        must_not = [q for occur, q in units if occur == "must_not"]
        if not must:
            must = [MatchAll()]
        return "should", Bool(must=must, must_not=must_not)

    def parse_unary(self) -> tuple[Occur, Query]:
        token = self.peek()
        assert token is not None
        occur: Occur = "should"
        if token.kind in ("plus", "minus", "not"):
            occur = "must" if token.kind == "plus" else "must_not"
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in ("and", "or", "rparen", "modifier"):
                raise self.error(f"{_describe(token)} needs a clause after it", token.position)
            if nxt.kind in ("plus", "minus", "not"):
                raise self.error("two operators in a row", nxt.position)
        return occur, self.parse_primary()

    def parse_primary(self) -> Query:
        token = self.peek()
        assert token is not None
        field: str | None = None
        if token.kind == "field":
            field = token.text
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind not in ("word", "phrase", "lparen"):
                raise self.error(
                    f"field {field!r} needs a word, a phrase or a group after it", token.position
                )
            token = nxt
        query: Query
        if token.kind == "all" and field is None:
            self.i += 1
            return self._boosted(MatchAll())
        if token.kind == "word":
            self.i += 1
            if token.mode == "prefix":
                query = Prefix(text=token.text, field=field, boost=token.boost)
            elif token.mode == "fuzzy":
                query = Fuzzy(
                    text=token.text, field=field, distance=token.distance, boost=token.boost
                )
            else:
                query = Term(text=token.text, field=field, boost=token.boost)
            return query
        if token.kind == "phrase":
            self.i += 1
            if not token.text.strip():
                raise self.error("empty phrase", token.position)
            query = Phrase(text=token.text, field=field)
            return self._boosted(query)
        if token.kind == "lparen":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(f"groups are nested more than {MAX_DEPTH} deep", token.position)
            self.i += 1
            inner = self.parse_or()
            close = self.peek()
            if close is None or close.kind != "rparen":
                raise self.error("missing ')' for this '('", token.position)
            self.i += 1
            self.depth -= 1
            if isinstance(inner, Bool) and inner.is_empty and not inner.must_not:
                raise self.error("empty group '()'", token.position)
            if field is not None:
                inner = with_field(inner, field)
            return self._boosted(inner)
        raise self.error(f"unexpected {_describe(token)}", token.position)

    def _boosted(self, query: Query) -> Query:
        token = self.peek()
        if token is not None and token.kind == "modifier":
            self.i += 1
            try:
                return attrs.evolve(query, boost=query.boost * token.boost)
            except ValueError:  # the product left the range (query.boost_span)
                raise self.error(
                    f"boosts multiply to more than {MAX_BOOST:.0f} or less than {MIN_BOOST:f} here",
                    token.position,
                ) from None
        return query


def _describe(token: _Token) -> str:
    return {
        "plus": "'+'",
        "minus": "'-'",
        "not": "NOT",
        "and": "AND",
        "or": "OR",
        "rparen": "')'",
        "modifier": "a boost",
    }.get(token.kind, repr(token.text))


def _combine(clauses: list[tuple[Occur, Query]]) -> Query:
    if len(clauses) == 1 and clauses[0][0] == "should":
        return clauses[0][1]
    must = [q for occur, q in clauses if occur == "must"]
    should = [q for occur, q in clauses if occur == "should"]
    must_not = [q for occur, q in clauses if occur == "must_not"]
    if not must and not should:
        must = [MatchAll()]
    return Bool(must=must, should=should, must_not=must_not)


def parse_query(
    text: str,
    *,
    strict: bool = False,
    fields: Collection[str] | None = None,
    notes: list[str] | None = None,
) -> Query:
    """Parse query syntax into a :class:`~bnsearch.search.query.Query` tree.

    Args:
        text: the query.
        strict: raise :class:`QuerySyntaxError` (with the position) on malformed syntax;
            otherwise a malformed query falls back to :func:`words_query`.
        fields: the field names ``field:`` may use; ``None`` accepts any name.
        notes: lenient parsing appends here what it changed to make the query valid
            (a fuzzy distance above 2 is searched as 2, not dropped); strict parsing
            raises instead.
    """
    if not isinstance(text, str):
        raise TypeError(f"a query must be str, got {type(text).__name__}")
    phrase = _lone_phrase(text)
    if phrase is not None:
        return phrase
    lenient = None if strict else [] if notes is None else notes
    mark = 0 if lenient is None else len(lenient)
    try:
        tokens = _Lexer(text, fields, lenient).run()
        return _Parser(text, tokens).parse()
    except QuerySyntaxError:
        if lenient is None:
            raise
        del lenient[mark:]  # read as plain words: the notes on the syntax no longer apply
        return words_query(text)
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps the stack shallow
        if strict:
            raise QuerySyntaxError("query nested too deeply", query=text, position=0) from None
        return words_query(text)


def _lone_phrase(text: str) -> Phrase | None:
    """The phrase ``text`` is when it is one quoted phrase and nothing else (the tree the
    lexer and parser give it, without them: a tenth of the instructions), else None."""
    quoted = text.strip()
    if len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"' or quoted.count('"') != 2:
        return None
    inner = quoted[1:-1]
    return Phrase(text=inner) if inner.strip() else None


def words_query(text: str) -> Bool:
    """The plain-words reading of ``text``: syntax characters become spaces, operators vanish."""
    cleaned = "".join(" " if char in SYNTAX_CHARACTERS else char for char in text)
    words = [w for w in cleaned.split() if w not in _OPERATORS]
    return Bool(should=[Term(text=w) for w in words])


def check_length(text: str) -> None:
    """Raise :class:`QuerySyntaxError` if ``text`` is longer than :data:`MAX_QUERY_CHARS`
    (the error names the bound and shows only the query's start)."""
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(
            f"the query is {len(text):,} characters long; the limit is {MAX_QUERY_CHARS:,}",
            query=text[:40] + "...",
            position=MAX_QUERY_CHARS,
        )


#: Any syntax character (one regex scan instead of a Python loop per character).
_SYNTAX_SEARCH = re.compile("[" + re.escape("".join(sorted(SYNTAX_CHARACTERS))) + "]").search


def has_syntax(text: str) -> bool:
    """True if ``text`` could mean more than plain words (so it needs the full parser)."""
    if _SYNTAX_SEARCH(text) is not None:
        return True
    return not _OPERATORS.keys().isdisjoint(text.split())
