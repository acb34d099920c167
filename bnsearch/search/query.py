"""The query tree: frozen values a parser produces and the searcher evaluates.

Leaves carry the *raw* text the user typed; the searcher runs it through the analyzer of
each field it searches, so one query works for every field. ``field=None`` means "the
searcher's default fields" (scored together with BM25F).

Nodes:

* :class:`Term`: one word (``বাজেট``, ``title:বাজেট``);
* :class:`Phrase`: words that must appear next to each other (``"শেখ হাসিনা"``);
* :class:`Prefix`: every indexed term that starts with the normalized text (``প্র*``);
* :class:`Fuzzy`: indexed terms within an edit distance in letters (``বাজট~``, ``বাজট~2``);
* :class:`Bool`: ``must`` clauses all match, ``must_not`` clauses never do, and ``should``
  clauses add to the score (at least one must match when there is no ``must`` clause);
* :class:`MatchAll`: every live document (used for pure-negative queries such as ``-খেলা``).

:func:`And`, :func:`Or` and :func:`Not` build :class:`Bool` nodes. Every node has a
``boost`` that multiplies its score, from :data:`MIN_BOOST` to :data:`MAX_BOOST`, as is the
product of the boosts from a node down to any clause under it (scores are float32 sums:
past that range they overflow or vanish); ``str(node)`` gives query syntax that parses back
to an equal node.
"""

from __future__ import annotations

import math
import re
from typing import Any, Union

import attrs

#: Characters with a meaning in query syntax; :func:`quote_word` escapes them.
SYNTAX_CHARACTERS = frozenset('"()+-:*~^\\')


#: The range of a boost and of the boosts multiplied from a node to any clause under it
#: (the range of a field weight, :data:`bnsearch.index.schema.MAX_WEIGHT`, for the same
#: reason: float32 scores).
MIN_BOOST = 1e-6
MAX_BOOST = 1e6
#: rounding room for products such as 0.001 * 0.001
_SLACK = 1e-9


def _check_boost(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (
        isinstance(value, (int, float))
        and math.isfinite(value)
        and MIN_BOOST * (1 - _SLACK) <= value <= MAX_BOOST * (1 + _SLACK)
    ):
        raise ValueError(
            f"{type(instance).__name__}.boost must be a number from {MIN_BOOST:f} to "
            f"{MAX_BOOST:.0f}, got {value!r}"
        )


def boost_span(query: Query) -> tuple[float, float]:
    """The smallest and largest product of boosts from ``query`` down to one of its
    clauses (a leaf: its own boost)."""
    if not isinstance(query, Bool):
        return query.boost, query.boost
    spans = [boost_span(clause) for clause in (*query.must, *query.should, *query.must_not)]
    if not spans:
        return query.boost, query.boost
    return (
        query.boost * min(low for low, _ in spans),
        query.boost * max(high for _, high in spans),
    )


def _check_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{type(instance).__name__}.{attribute.name} must be a non-empty string")


def _check_field(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not _FIELD_NAME.fullmatch(value)):
        raise ValueError(
            f"{type(instance).__name__}.field must be None or a name like 'title', got {value!r}"
        )


_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"\d+(\.\d+)?")


def quote_word(text: str) -> str:
    """``text`` as one query word, with syntax characters escaped by a backslash."""
    escaped = "".join(
        "\\" + char if char in SYNTAX_CHARACTERS or char.isspace() else char for char in text
    )
    if escaped in ("AND", "OR", "NOT"):
        escaped = "\\" + escaped
    return escaped


def _suffix(field: str | None, body: str, boost: float) -> str:
    text = f"{field}:{body}" if field else body
    if boost != 1.0:
        text += f"^{_format_number(boost)}"
    return text


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@attrs.frozen(kw_only=True)
class Term:
    """One word. Several terms after analysis (``ঢাকা-চট্টগ্রাম``) make a phrase."""

    text: str = attrs.field(validator=_check_text)
    field: str | None = attrs.field(default=None, validator=_check_field)
    boost: float = attrs.field(default=1.0, validator=_check_boost)

    def __str__(self) -> str:
        return _suffix(self.field, quote_word(self.text), self.boost)


@attrs.frozen(kw_only=True)
class Phrase:
    """Words that must occur at consecutive positions (stopwords keep their positions)."""

    text: str = attrs.field(validator=_check_text)
    field: str | None = attrs.field(default=None, validator=_check_field)
    boost: float = attrs.field(default=1.0, validator=_check_boost)

    @text.validator
    def _no_quote(self, attribute: attrs.Attribute[Any], value: str) -> None:
        if '"' in value:
            raise ValueError('Phrase.text cannot contain a double quote (")')

    def __str__(self) -> str:
        return _suffix(self.field, f'"{self.text}"', self.boost)


@attrs.frozen(kw_only=True)
class Prefix:
    """Indexed terms that start with the normalized ``text`` (code points, so ``প্র`` works).

    The index holds stemmed terms, so the prefix is matched against stems; a normalized
    prefix of a surface word is nearly always a prefix of its stem too.
    """

    text: str = attrs.field(validator=_check_text)
    field: str | None = attrs.field(default=None, validator=_check_field)
    boost: float = attrs.field(default=1.0, validator=_check_boost)

    def __str__(self) -> str:
        return _suffix(self.field, quote_word(self.text) + "*", self.boost)


@attrs.frozen(kw_only=True)
class Fuzzy:
    """Indexed terms within ``distance`` (1 or 2) letter edits of the normalized word."""

    text: str = attrs.field(validator=_check_text)
    field: str | None = attrs.field(default=None, validator=_check_field)
    distance: int = attrs.field(default=1)
    boost: float = attrs.field(default=1.0, validator=_check_boost)

    @distance.validator
    def _check_distance(self, attribute: attrs.Attribute[Any], value: int) -> None:
        if value not in (1, 2):
            raise ValueError(f"Fuzzy.distance must be 1 or 2, got {value!r}")

    def __str__(self) -> str:
        body = quote_word(self.text) + ("~" if self.distance == 1 else f"~{self.distance}")
        return _suffix(self.field, body, self.boost)


@attrs.frozen(kw_only=True)
class MatchAll:
    """Every live document, with score 0 (times nothing): the base of ``-word`` queries."""

    boost: float = attrs.field(default=1.0, validator=_check_boost)

    def __str__(self) -> str:
        return "*:*" if self.boost == 1.0 else f"*:*^{_format_number(self.boost)}"


Query = Union[Term, Phrase, Prefix, Fuzzy, "Bool", MatchAll]
Leaf = Union[Term, Phrase, Prefix, Fuzzy]  # noqa: UP007 - a runtime alias on Python 3.10
LEAF_TYPES = (Term, Phrase, Prefix, Fuzzy)


def _to_tuple(value: Any) -> tuple[Query, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Bool:
    """A boolean combination of clauses (Lucene's BooleanQuery semantics).

    A document matches when it matches every ``must`` clause, none of the ``must_not``
    clauses, and (only when there is no ``must`` clause) at least one ``should`` clause.
    Its score is the sum of the scores of the clauses it matches. A Bool with no positive
    clause matches nothing; wrap :class:`MatchAll` in ``must`` for "everything except".
    """

    must: tuple[Query, ...] = attrs.field(default=(), converter=_to_tuple)
    should: tuple[Query, ...] = attrs.field(default=(), converter=_to_tuple)
    must_not: tuple[Query, ...] = attrs.field(default=(), converter=_to_tuple)
    boost: float = attrs.field(default=1.0, validator=_check_boost)

    def __attrs_post_init__(self) -> None:
        low, high = boost_span(self)
        if not MIN_BOOST * (1 - _SLACK) <= low <= high <= MAX_BOOST * (1 + _SLACK):
            worst = high if high > MAX_BOOST else low
            raise ValueError(
                f"boosts multiply to {worst:g} from a query node to a clause under it; "
                f"the product must be from {MIN_BOOST:f} to {MAX_BOOST:.0f}"
            )

    @property
    def is_empty(self) -> bool:
        """True when the query can match nothing because it has no positive clause."""
        return not self.must and not self.should

    def __str__(self) -> str:
        parts = [f"+{_clause_str(q)}" for q in self.must]
        parts += [_clause_str(q) for q in self.should]
        parts += [f"-{_clause_str(q)}" for q in self.must_not]
        body = " ".join(parts)
        if self.boost != 1.0:
            return f"({body})^{_format_number(self.boost)}"
        return body


#: The classes of a :data:`Query` (``isinstance`` cannot take the Union on Python 3.10).
QUERY_TYPES = (*LEAF_TYPES, Bool, MatchAll)


def _clause_str(query: Query) -> str:
    if isinstance(query, Bool):
        text = str(attrs.evolve(query, boost=1.0))
        suffix = "" if query.boost == 1.0 else f"^{_format_number(query.boost)}"
        return f"({text}){suffix}"
    return str(query)


def And(*clauses: Query) -> Bool:
    """Every clause must match."""
    return Bool(must=clauses)


def Or(*clauses: Query) -> Bool:
    """At least one clause must match; more matches score higher."""
    return Bool(should=clauses)


def Not(clause: Query) -> Bool:
    """Every live document except those matching ``clause``."""
    return Bool(must=(MatchAll(),), must_not=(clause,))


def with_field(query: Query, field: str) -> Query:
    """``query`` with ``field`` set on every leaf that names no field of its own."""
    if isinstance(query, LEAF_TYPES):
        return query if query.field is not None else attrs.evolve(query, field=field)
    if isinstance(query, Bool):
        return Bool(
            must=tuple(with_field(q, field) for q in query.must),
            should=tuple(with_field(q, field) for q in query.should),
            must_not=tuple(with_field(q, field) for q in query.must_not),
            boost=query.boost,
        )
    return query


def leaves(query: Query) -> list[Leaf]:
    """Every leaf of ``query`` that can contribute a match (not under ``must_not``), in order."""
    if isinstance(query, LEAF_TYPES):
        return [query]
    if isinstance(query, Bool):
        return [leaf for clause in (*query.must, *query.should) for leaf in leaves(clause)]
    return []
