"""Hits: the chosen matches made into :class:`~bnsearch.search.results.Hit` values, with
their stored rows and, when asked, highlights (titles whole, the body as a snippet)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bnsearch.index.segment import SegmentReader
from bnsearch.search import spans
from bnsearch.search.collect import Chosen
from bnsearch.search.compiler import Compiled, Node, Unit
from bnsearch.search.context import Context
from bnsearch.search.highlight import (
    Fragment,
    Phrase,
    TermMatcher,
    best_fragment,
    highlight_all,
    phrase_key,
)
from bnsearch.search.results import Hit, IdHits, LazyMapping
from bnsearch.search.scoring import idf
from bnsearch.search.spans import SpanLookup

#: Fields highlighted in hits, in order; ``body`` gets a snippet, the others whole text.
HIGHLIGHT_FIELDS = ("title", "body", "caption")
#: The word-span lookups of one page, by (segment ordinal, segment name, field).
Lookups = dict[tuple[int, str, str], SpanLookup]
#: Where a hit's row lies: its segment, its doc there, and the page's lookups.
Located = tuple[SegmentReader, int, Lookups]
#: Queries whose matchers and span lookups a snapshot keeps (a kept plan's pages find
#: them made: about a tenth of a one-word page at 4,008 docs, more for several words).
KEPT_QUERIES = 512


def make_hits(
    ctx: Context,
    chosen: list[Chosen],
    offset: int,
    compiled: Compiled | None,
    highlight: bool,
    stored: bool,
) -> tuple[Hit, ...] | IdHits:
    """Hits for ``chosen`` (ranks from ``offset``): ids and scores (each :class:`Hit`
    made when read: :func:`ids_only`), plus stored fields and highlights when asked;
    none for an empty page or a query that compiled to nothing (``compiled`` None)."""
    if compiled is None or not chosen:
        return ()
    if not stored:
        return ids_only(ctx, chosen, offset)
    segments = ctx.reader.segments
    matchers, lookups = page_marks(ctx, compiled) if highlight else ({}, {})
    sources = _sources(ctx, matchers)
    hits = []
    for rank, (ordinal, doc, score) in enumerate(chosen, start=offset):
        segment = segments[ordinal]
        row = segment.stored(doc)
        marks = (
            LazyHighlights(ctx, row, matchers, (segment, doc, lookups), sources)
            if highlight
            else {}
        )
        hits.append(Hit(id=row["id"], score=score, rank=rank, fields=row, highlights=marks))
    return tuple(hits)


def ids_only(ctx: Context, chosen: list[Chosen], offset: int) -> IdHits:
    """The hits of ``chosen`` (ranks from ``offset``) with ids and scores only, each
    :class:`Hit` made when first read."""
    segments = ctx.reader.segments
    found: list[str] = []
    scores: list[float] = []
    # (loops, ids and scores together: a comprehension is a call, 0.35 us of 1 at 4k)
    if len(segments) == 1:
        ids = segments[0].article_ids()
        for _, doc, score in chosen:
            found.append(ids[doc])
            scores.append(score)
    else:  # (each segment's ids asked for once: a page's hits share a few segments)
        lists: dict[int, list[str]] = {}
        for ordinal, doc, score in chosen:
            kept = lists.get(ordinal)
            if kept is None:
                kept = lists[ordinal] = segments[ordinal].article_ids()
            found.append(kept[doc])
            scores.append(score)
    return IdHits(found, scores, offset)


def _sources(ctx: Context, matchers: Mapping[str, TermMatcher]) -> frozenset[str]:
    """The row keys the highlights of ``matchers`` read (one set for a page's hits)."""
    return frozenset(ctx.schema[field].source for field in matchers)


class LazyHighlights(LazyMapping[str, Fragment]):
    """The highlights of one hit, each field's made when first read: a page that shows
    the title and the body snippet pays for no caption (nor title) highlight. Reading
    every key (iteration, ``len``, ``dict()``) gives what :func:`highlight_row` gives;
    it pickles as a plain dict."""

    def __init__(
        self,
        ctx: Context,
        row: Mapping[str, Any],
        matchers: Mapping[str, TermMatcher],
        located: Located | None = None,
        sources: frozenset[str] | None = None,
    ) -> None:
        self._ctx = ctx
        self._located = located
        # the texts themselves (immutable): a caller may change the hit's fields dict
        if sources is None:
            sources = _sources(ctx, matchers)
        self._row = {source: row.get(source) for source in sources}
        self.matchers = matchers
        self._pending = dict(matchers)  # fields not highlighted yet
        self._marks: dict[str, Fragment] = {}

    def _field(self, field: str) -> None:
        matcher = self._pending.get(field)
        if matcher is not None:  # marks stored before the field leaves pending: a second
            # thread reading meanwhile computes the same marks again, never misses them
            fragment = highlight_field(self._ctx, self._row, field, matcher, self._located)
            if fragment is not None:
                self._marks[field] = fragment
            self._pending.pop(field, None)

    def _all(self) -> dict[str, Fragment]:
        for field in list(self._pending):
            self._field(field)
        # in the order highlight_row gives them
        return {f: self._marks[f] for f in HIGHLIGHT_FIELDS if f in self._marks}

    def __getitem__(self, field: str) -> Fragment:
        self._field(field)
        return self._marks[field]

    def get(self, field: str, default: Any = None) -> Any:
        """``Mapping.get`` without its ``KeyError`` round trip (``Hit.snippet`` reads
        the body this way once a hit)."""
        self._field(field)
        return self._marks.get(field, default)

    def __reduce__(self) -> tuple[type[dict[str, Fragment]], tuple[dict[str, Fragment]]]:
        return dict, (self._all(),)


def page_marks(ctx: Context, compiled: Compiled) -> tuple[dict[str, TermMatcher], Lookups]:
    """The query's matchers and the span lookups its pages share (one per segment and
    field, made when a hit first needs it), kept per snapshot for the
    :data:`KEPT_QUERIES` queries it used last (the least recently used one goes
    first): a kept plan (the same query again) finds them made. The numpy path's lookups
    key every posting of their terms (large at a million docs), so they are kept for
    one page only."""
    kept = ctx.page_marks  # (the compiled query is kept so its id is not reused)
    key = id(compiled)
    found = kept.pop(key, None)
    if found is not None and found[0] is compiled:
        kept[key] = found  # (used last: evicted last)
        marks: tuple[dict[str, TermMatcher], Lookups] = (found[1], found[2])
        return marks
    matchers = query_matchers(ctx, compiled)
    lookups: Lookups = {}
    if spans.core is not None:
        while len(kept) >= KEPT_QUERIES:
            del kept[next(iter(kept))]  # the query used least recently
        kept[key] = (compiled, matchers, lookups)
    return matchers, lookups


def query_matchers(ctx: Context, compiled: Compiled) -> dict[str, TermMatcher]:
    """Per highlighted field, what of the query marks a word: its terms, prefixes and
    phrases, weighted by idf for choosing the snippet."""
    terms: dict[str, set[str]] = {}
    prefixes: dict[str, set[str]] = {}
    phrases: dict[str, dict[Phrase, None]] = {}
    n = ctx.total_docs
    for unit in units_of(compiled):
        for field, group in unit.terms.items():
            terms.setdefault(field, set()).update(group)
        for field, phrase in unit.phrases.items():
            phrases.setdefault(field, {})[phrase] = None
        for field, group in unit.prefixes.items():
            prefixes.setdefault(field, set()).update(group)
    matchers = {}
    for field in HIGHLIGHT_FIELDS:
        if field not in ctx.schema or not ctx.schema[field].is_text:
            continue
        field_terms = terms.get(field, set())
        field_phrases = tuple(phrases.get(field, ()))
        matchers[field] = TermMatcher(
            terms=frozenset(field_terms),
            prefixes=tuple(sorted(prefixes.get(field, ()))),
            phrases=field_phrases,
            weights=SnippetWeights(ctx, field, n, field_terms, field_phrases),
        )
    return matchers


class SnippetWeights(Mapping[str, float]):
    """A field's snippet weights for :func:`query_matchers`: each word's idf, a
    phrase's the sum of its words' (as scored), each counted when first asked for (a
    page that shows only the body's snippet counts no title or caption weight: two
    thirds of a cold prefix page's lookups of document frequencies)."""

    def __init__(
        self,
        ctx: Context,
        field: str,
        n: int,
        terms: set[str],
        phrases: tuple[Phrase, ...],
    ) -> None:
        self._ctx = ctx
        self._field = field
        self._n = n
        self._phrases = {phrase_key(phrase): {t for _, t in phrase} for phrase in phrases}
        words = terms.union(t for words in self._phrases.values() for t in words)
        self._keys = (*words, *(k for k in self._phrases if k not in words))
        self._known = frozenset(self._keys)
        self._counted: dict[str, float] = {}

    def _word(self, term: str) -> float:
        found = self._counted.get(term)
        if found is None:
            found = float(idf(self._n, self._ctx.doc_freq(self._field, term)))
            self._counted[term] = found
        return found

    def __getitem__(self, key: str) -> float:
        if key not in self._known:
            raise KeyError(key)
        words = self._phrases.get(key)
        if words is None or key in words:  # (a one-word phrase's key is its word)
            return self._word(key)
        return sum(self._word(t) for t in words)

    def get(self, key: str, default: Any = None) -> Any:
        """``Mapping.get`` without its ``KeyError`` round trip (a word counted
        already: one lookup; a lookup makes one ``get`` a candidate and hit)."""
        found = self._counted.get(key)
        if found is not None:
            return found
        return self[key] if key in self._known else default

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def highlight_row(
    ctx: Context,
    row: Mapping[str, Any],
    matchers: Mapping[str, TermMatcher],
    located: Located | None = None,
) -> dict[str, Any]:
    """The highlights of one stored row: a snippet of the body, other fields whole.

    With ``located`` (the row's segment, its doc there, and the page's lookups) a field
    whose segment keeps word spans is read from them (no re-analysis); otherwise (a
    segment written before word spans) its text is analysed again. Both give the same
    fragments."""
    marks = {}
    for field, matcher in matchers.items():
        fragment = highlight_field(ctx, row, field, matcher, located)
        if fragment is not None:
            marks[field] = fragment
    return marks


def highlight_field(
    ctx: Context,
    row: Mapping[str, Any],
    field: str,
    matcher: TermMatcher,
    located: Located | None = None,
) -> Fragment | None:
    """One field's highlight of :func:`highlight_row` (None where it gives none: no
    text, or no mark outside the body)."""
    spec = ctx.schema[field]
    text = row.get(spec.source)
    if not isinstance(text, str) or not text:
        return None
    is_body = spec.source == "body"
    if not is_body and matcher.is_empty:
        return None
    found = _lookup(located, field, matcher)
    if found is not None:
        lookup, doc = found
        fragment = lookup.fragment(doc, text) if is_body else lookup.marks(doc, text)
    else:
        analyzer = ctx.schema.analyzer(field)
        fragment = (
            best_fragment(text, analyzer, matcher)
            if is_body
            else highlight_all(text, analyzer, matcher)
        )
    return fragment if is_body or fragment.spans else None


def _lookup(
    located: Located | None, field: str, matcher: TermMatcher
) -> tuple[SpanLookup, int] | None:
    """The page's span lookup of the row's segment and ``field`` (made when first
    needed) and the row's doc there, or None where the segment keeps no word spans."""
    if located is None:
        return None
    segment, doc, lookups = located
    key = (segment.ordinal, segment.name, field)
    lookup = lookups.get(key)
    if lookup is None:
        if segment.word_spans(field) is None:
            return None
        lookup = lookups[key] = SpanLookup(segment, field, matcher)
    return lookup, doc


def units_of(node: Compiled) -> list[Unit]:
    """The units a match may come from (must and should clauses, not must-not)."""
    if isinstance(node, Unit):
        return [node]
    assert isinstance(node, Node)
    return [u for child in (*node.must, *node.should) for u in units_of(child)]
