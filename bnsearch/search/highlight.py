"""Highlights and snippets on the original stored text.

The text is re-analysed with the field's own analyzer, so every token carries ``start``/
``end`` offsets into the *original* string (Python ``str`` indices) and its indexed term.
A token is highlighted when its term is one the query looked for, so ``বাংলাদেশের`` lights
up for the query ``বাংলাদেশ``. Highlights cover whole ICU words and fragment edges fall on
word edges, so a mark never separates a consonant from its vowel sign, nukta, virama or
ZWJ, whatever the encoding of the text (NFC, NFD, legacy nukta forms).

The snippet is the window of at most ``fragment_chars`` characters that covers the most
query terms (each distinct term counts by its weight, usually its idf; repeats add a
little), stretched to word edges and, when close, to the start of its sentence.
"""

from __future__ import annotations

import bisect
import html
from collections.abc import Callable, Collection, Iterable, Mapping

import attrs

from bnsearch.analysis import Analyzer, Token

#: Characters that end a sentence (danda, double danda, ?, !, newline).
SENTENCE_ENDS = frozenset("।॥?!\n")

#: Matches looked at when choosing a snippet (a very long text with thousands of matches
#: is cut here, so choosing stays fast).
MAX_MATCHES = 2000


def _frozen(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


def _tupled(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class TermMatcher:
    """Which analysed terms count as hits: exact terms, and prefixes of terms."""

    terms: frozenset[str] = attrs.field(factory=frozenset, converter=_frozen)
    prefixes: tuple[str, ...] = attrs.field(default=(), converter=_tupled)
    weights: Mapping[str, float] = attrs.field(factory=dict, hash=False)

    def __call__(self, term: str) -> str | None:
        """The query term ``term`` answers (itself, or the prefix it starts with), or None."""
        if term in self.terms:
            return term
        for prefix in self.prefixes:
            if term.startswith(prefix):
                return prefix
        return None

    def weight(self, key: str) -> float:
        return float(self.weights.get(key, 1.0))

    @property
    def is_empty(self) -> bool:
        return not self.terms and not self.prefixes


@attrs.frozen(kw_only=True)
class Fragment:
    """A piece of the original text with the spans to highlight.

    ``text == original[start:end]``; ``spans`` are ``(start, end)`` offsets into ``text``.
    ``truncated_before``/``truncated_after`` say whether text was cut at that edge.
    """

    text: str
    start: int
    end: int
    spans: tuple[tuple[int, int], ...] = ()
    truncated_before: bool = False
    truncated_after: bool = False

    def markup(
        self,
        pre: str = "<mark>",
        post: str = "</mark>",
        *,
        escape: Callable[[str], str] | None = html.escape,
        ellipsis: str = "…",
    ) -> str:
        """The fragment with ``pre``/``post`` around highlights (HTML-escaped by default)."""
        out: list[str] = [ellipsis] if self.truncated_before else []
        esc = escape or (lambda s: s)
        cursor = 0
        for span_start, span_end in self.spans:
            out.append(esc(self.text[cursor:span_start]))
            out.append(pre + esc(self.text[span_start:span_end]) + post)
            cursor = span_end
        out.append(esc(self.text[cursor:]))
        if self.truncated_after:
            out.append(ellipsis)
        return "".join(out)

    def __str__(self) -> str:
        return self.markup("[", "]", escape=None)


class _Chunks:
    """A text's whitespace chunks and where each starts; word tokens made on demand.

    The analyzer analyzes each chunk on its own (see
    :meth:`bnsearch.analysis.Analyzer.chunk_terms`), so the matching words are found on its
    cached per-chunk terms, and :class:`Token` objects (with offsets) are built only for
    the chunks that match and the few around the snippet: a hit's body no longer costs a
    token object per word.
    """

    def __init__(self, text: str, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self.chunks = text.split()
        starts: list[int] = []
        find = text.find
        offset = 0
        for chunk in self.chunks:
            offset = find(chunk, offset)
            starts.append(offset)
            offset += len(chunk)
        self.starts = starts

    def tokens(self, number: int) -> list[Token]:
        """The (not dropped) words of chunk ``number``, offsets into the whole text
        (positions are not needed here and left 0)."""
        shift = self.starts[number]
        return [
            Token(term, 0, start + shift, end + shift)
            for start, end, term in self.analyzer.chunk_words(self.chunks[number])
            if term is not None
        ]

    def tokens_between(self, start: int, end: int) -> list[Token]:
        """The words of every chunk that reaches past ``start`` and begins before ``end``."""
        first = max(bisect.bisect_right(self.starts, start) - 1, 0)
        last = bisect.bisect_left(self.starts, end)
        return [token for number in range(first, last) for token in self.tokens(number)]

    def matches(self, matcher: TermMatcher) -> list[tuple[Token, str]]:
        """Matching words in text order, with the query term each answers (at most
        :data:`MAX_MATCHES`)."""
        found: list[tuple[Token, str]] = []
        if matcher.is_empty:
            return found
        exact_only = not matcher.prefixes
        wanted = matcher.terms
        for number, terms in enumerate(self.analyzer.chunk_terms(self.chunks)):
            if exact_only and wanted.isdisjoint(terms):
                continue
            for token in self.tokens(number):
                key = matcher(token.term)
                if key is not None:
                    found.append((token, key))
                    if len(found) >= MAX_MATCHES:
                        return found
        return found


def highlight_all(text: str, analyzer: Analyzer, matcher: TermMatcher) -> Fragment:
    """The whole of ``text`` as one fragment with every matching word marked (for titles)."""
    spans = tuple((t.start, t.end) for t, _ in _Chunks(text, analyzer).matches(matcher))
    return Fragment(text=text, start=0, end=len(text), spans=spans)


def best_fragment(
    text: str,
    analyzer: Analyzer,
    matcher: TermMatcher,
    *,
    fragment_chars: int = 200,
) -> Fragment:
    """The best passage of ``text`` for the query, at most about ``fragment_chars`` long.

    With no matching word, the fragment is the start of the text.
    """
    if fragment_chars < 1:
        raise ValueError(f"fragment_chars must be >= 1, got {fragment_chars}")
    chunks = _Chunks(text, analyzer)
    matches = chunks.matches(matcher)
    if not matches:
        return _leading_fragment(text, analyzer, fragment_chars)
    first, last = _best_window(matches, matcher, fragment_chars)
    chosen = matches[first : last + 1]
    window_start, window_end = chosen[0][0].start, chosen[-1][0].end
    # _stretch looks at words from a third of the spare room before the window to at
    # most fragment_chars after the fragment's start
    nearby = chunks.tokens_between(
        window_start - fragment_chars // 3 - 1, window_start + fragment_chars + 1
    )
    start, end = _stretch(text, nearby, window_start, window_end, fragment_chars)
    spans = tuple((t.start - start, t.end - start) for t, _ in chosen)
    return Fragment(
        text=text[start:end],
        start=start,
        end=end,
        spans=spans,
        truncated_before=bool(text[:start].strip()),
        truncated_after=bool(text[end:].strip()),
    )


def _best_window(
    matches: list[tuple[Token, str]], matcher: TermMatcher, fragment_chars: int
) -> tuple[int, int]:
    """Indices (first, last) into ``matches`` of the best-scoring window."""
    best = (-1.0, 0, 0)
    j = 0
    counts: dict[str, int] = {}
    score = 0.0
    for i in range(len(matches)):
        if j < i:
            j, counts, score = i, {}, 0.0
        while j < len(matches) and matches[j][0].end - matches[i][0].start <= fragment_chars:
            key = matches[j][1]
            seen = counts.get(key, 0)
            score += matcher.weight(key) * (1.0 if seen == 0 else 0.1)
            counts[key] = seen + 1
            j += 1
        if j == i:  # a single match longer than the window
            window_score = matcher.weight(matches[i][1])
            if window_score > best[0]:
                best = (window_score, i, i)
            continue
        if score > best[0]:
            best = (score, i, j - 1)
        key = matches[i][1]
        seen = counts[key]
        score -= matcher.weight(key) * (1.0 if seen == 1 else 0.1)
        counts[key] = seen - 1
    return best[1], best[2]


def _stretch(
    text: str, tokens: list[Token], start: int, end: int, fragment_chars: int
) -> tuple[int, int]:
    """Grow ``[start, end)`` to about ``fragment_chars`` on word edges, sentence-aware."""
    spare = max(fragment_chars - (end - start), 0)
    # context before: up to a third of the spare room, from a sentence start if one is near
    lead_limit = start - spare // 3
    new_start = start
    for index in range(start - 1, max(lead_limit, 0) - 1, -1):
        if text[index] in SENTENCE_ENDS:
            new_start = index + 1
            break
    else:
        new_start = start
        for token in tokens:
            if token.start >= lead_limit:
                new_start = min(token.start, start)
                break
    while new_start < start and text[new_start].isspace():
        new_start += 1
    room = fragment_chars - (end - new_start)
    new_end = end
    for token in tokens:
        if token.start >= end:
            if token.end - new_start > fragment_chars or token.end - end > room:
                break
            new_end = token.end
    # keep a sentence-final danda or question mark that directly follows
    if new_end < len(text) and text[new_end] in SENTENCE_ENDS and text[new_end] != "\n":
        new_end += 1
    return new_start, new_end


def _leading_fragment(text: str, analyzer: Analyzer, fragment_chars: int) -> Fragment:
    end = 0
    for token in analyzer.iter_tokens(text, keep_dropped=True):
        if token.end > fragment_chars:
            break
        end = token.end
    if end == 0:
        end = min(len(text), fragment_chars)
    start = len(text) - len(text.lstrip())
    start = min(start, end)
    return Fragment(
        text=text[start:end], start=start, end=end, truncated_after=bool(text[end:].strip())
    )


def matcher_for(
    terms: Collection[str],
    prefixes: Collection[str] = (),
    weights: Mapping[str, float] | None = None,
) -> TermMatcher:
    """A :class:`TermMatcher` for the analysed terms and prefixes of a query."""
    return TermMatcher(
        terms=frozenset(terms), prefixes=tuple(prefixes), weights=dict(weights or {})
    )
