"""Highlights and snippets on the original stored text.

The text is re-analysed with the field's own analyzer, so every token carries ``start``/
``end`` offsets into the *original* string (Python ``str`` indices) and its indexed term.
A token is highlighted when its term is one the query looked for, so ``বাংলাদেশের`` lights
up for the query ``বাংলাদেশ``; the words of a phrase light up only where they stand as the
phrase, as one mark from its first word to its last. Highlights cover whole ICU words and
fragment edges fall on word edges, so a mark never separates a consonant from its vowel
sign, nukta, virama or ZWJ, whatever the encoding of the text (NFC, NFD, legacy nukta
forms).

The snippet is the window of at most ``fragment_chars`` characters that covers the most
query terms (each distinct term counts by its weight, usually its idf; repeats add a
little), stretched to word edges and, when close, to the start of its sentence.
"""

from __future__ import annotations

import bisect
import functools
import html
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from itertools import chain, compress
from operator import itemgetter, not_

import attrs

from bnsearch.analysis import Analyzer
from bnsearch.search import kernel

#: Characters that end a sentence (danda, double danda, ?, !, newline).
SENTENCE_ENDS = frozenset("।॥?!\n")

#: What a text may begin or end with that shows nothing: whitespace (every character
#: ``str.isspace`` takes) and the invisible format characters (a byte order mark, a soft
#: hyphen, zero-width spaces and (non-)joiners, direction marks and isolates). A
#: fragment's ``truncated_*`` flags say whether text beyond these was cut.
BLANK_EDGES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
    "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)

#: Matches looked at when choosing a snippet (a very long text with thousands of matches
#: is cut here, so choosing stays fast).
MAX_MATCHES = 2000


def _frozen(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


def _tupled(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


#: A phrase: its terms with their word offsets from the first, ``((0, t0), (1, t1), ...)``
#: (an offset skips a dropped stopword), as the query compiler makes them.
Phrase = tuple[tuple[int, str], ...]


def _phrases(values: Iterable[Phrase]) -> tuple[Phrase, ...]:
    return tuple(tuple((int(offset), str(term)) for offset, term in phrase) for phrase in values)


def phrase_key(phrase: Phrase) -> str:
    """The key a phrase's matches count under (for :attr:`TermMatcher.weights`)."""
    return " ".join(term for _, term in phrase)


@attrs.frozen(kw_only=True)
class TermMatcher:
    """Which analysed terms count as hits: exact terms, prefixes of terms, and phrases
    (their words count only where they stand as the phrase). ``weights`` maps a term, a
    prefix or a :func:`phrase_key` to its weight in choosing the snippet."""

    terms: frozenset[str] = attrs.field(factory=frozenset, converter=_frozen)
    prefixes: tuple[str, ...] = attrs.field(default=(), converter=_tupled)
    phrases: tuple[Phrase, ...] = attrs.field(default=(), converter=_phrases)
    weights: Mapping[str, float] = attrs.field(factory=dict, hash=False)

    def __call__(self, term: str) -> str | None:
        """The query term ``term`` answers (itself, or the prefix it starts with), or None."""
        if term in self.terms:
            return term
        if not self.prefixes or not term.startswith(self.prefixes):
            return None
        for prefix in self.prefixes:
            if term.startswith(prefix):
                return prefix
        return None

    def answers(self, terms: Iterable[str]) -> list[str | None]:
        """What each of ``terms`` answers (as :meth:`__call__`; with one prefix, the
        common case, without a call a term)."""
        prefixes = self.prefixes
        if len(prefixes) != 1:
            return [self(term) for term in terms]
        exact = self.terms
        prefix = prefixes[0]
        return [
            term if term in exact else prefix if term.startswith(prefix) else None for term in terms
        ]

    def matching(self, terms: Iterable[str]) -> list[str]:
        """The terms among ``terms`` that answer some query term or prefix."""
        prefixes = self.prefixes
        exact = self.terms
        return [t for t in terms if t in exact or t.startswith(prefixes)]

    def weight(self, key: str) -> float:
        return float(self.weights.get(key, 1.0))

    @property
    def is_empty(self) -> bool:
        return not self.terms and not self.prefixes and not self.phrases


#: The compiled :meth:`Fragment.markup` of a text with nothing to escape, or None (the
#: numpy path; a build without ``_snippets``).
_MARKUP: Callable[..., str | None] | None = getattr(kernel.companion("_snippets"), "markup", None)


def _needs_escape(text: str) -> bool:
    """Whether ``text`` holds a character :func:`html.escape` replaces (five ``in`` tests:
    a tenth of a regular expression's search on a snippet)."""
    return "&" in text or "<" in text or ">" in text or '"' in text or "'" in text


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
        if _MARKUP is not None and (escape is html.escape or escape is None):
            # (the compiled pieces where nothing is escaped: a text to escape is None)
            made: str | None = _MARKUP(
                self.text,
                self.spans,
                pre,
                post,
                ellipsis,
                self.truncated_before,
                self.truncated_after,
            )
            if made is not None:
                return made
        out: list[str] = [ellipsis] if self.truncated_before else []
        text = self.text
        if escape is html.escape and not _needs_escape(text):
            escape = None  # nothing to escape: no call a piece
        cursor = 0
        if escape is None:
            for span_start, span_end in self.spans:
                out += (text[cursor:span_start], pre, text[span_start:span_end], post)
                cursor = span_end
            out.append(text[cursor:])
        else:
            for span_start, span_end in self.spans:
                out.append(escape(text[cursor:span_start]))
                out.append(pre + escape(text[span_start:span_end]) + post)
                cursor = span_end
            out.append(escape(text[cursor:]))
        if self.truncated_after:
            out.append(ellipsis)
        return "".join(out)

    def __str__(self) -> str:
        return self.markup("[", "]", escape=None)


#: A whitespace chunk (``\s`` is exactly ``str.isspace``, so these are ``str.split``'s).
_CHUNK = re.compile(r"\S+")


#: A match: ``(start, end, key)``, its character span in the text and the term, prefix
#: or :func:`phrase_key` it answers.
Match = tuple[int, int, str]


def _matches(text: str, analyzer: Analyzer, matcher: TermMatcher) -> list[Match]:
    """Matching words and phrase occurrences in text order, with the key each answers
    (at most :data:`MAX_MATCHES`); a word inside a matched phrase is not marked twice."""
    words = _word_matches(text, analyzer, matcher) if matcher.terms or matcher.prefixes else []
    if not matcher.phrases:
        return words
    return _merged(words, _phrase_matches(text, analyzer, matcher.phrases))


def _merged(words: list[Match], phrases: list[Match]) -> list[Match]:
    """Word and phrase matches in text order (at most :data:`MAX_MATCHES`), the words
    inside a matched phrase left out."""
    if not phrases:
        return words
    covered = [(start, end) for start, end, _ in phrases]
    merged = phrases + [
        match
        for match in words
        if not any(start <= match[0] and match[1] <= end for start, end in covered)
    ]
    merged.sort(key=itemgetter(0))
    return merged[:MAX_MATCHES]


def _phrase_matches(text: str, analyzer: Analyzer, phrases: tuple[Phrase, ...]) -> list[Match]:
    """Where each phrase stands in ``text``: one token from its first word's start to its
    last word's end (word positions count dropped words, as the index does)."""
    chunks = text.split()
    entries = analyzer.chunk_terms(chunks)
    sequence = list(chain.from_iterable(entries))
    # position -> (chunk number, word number within the chunk)
    places = [(number, word) for number, entry in enumerate(entries) for word in range(len(entry))]
    found = phrase_occurrences(
        phrases,
        lambda first: [p for p, term in enumerate(sequence) if term == first],
        lambda position, term: sequence[position] == term,
        len(sequence),
    )
    if not found:
        return []
    # offsets of the chunks the matches touch, in one pass along the text
    needed = {places[p][0] for first, last, _ in found for p in (first, last)}
    chunk_start: dict[int, int] = {}
    offset = 0
    last_needed = max(needed)
    for number, chunk in enumerate(chunks):
        offset = text.find(chunk, offset)
        if number in needed:
            chunk_start[number] = offset
        if number >= last_needed:
            break
        offset += len(chunk)

    def edge(position: int, last: bool) -> int:
        number, word = places[position]
        start, end, _ = analyzer.chunk_words(chunks[number])[word]
        return chunk_start[number] + (end if last else start)

    return phrase_tokens(found, edge)


def phrase_occurrences(
    phrases: Iterable[Phrase],
    positions_of: Callable[[str], Iterable[int]],
    holds: Callable[[int, str], bool],
    count: int,
) -> list[tuple[int, int, str]]:
    """``(first position, last position, key)`` of each phrase occurrence in a text of
    ``count`` word positions (dropped words count), at most about :data:`MAX_MATCHES`:
    ``positions_of(term)`` gives a term's positions in order, ``holds(p, term)`` whether
    position ``p`` holds ``term``."""
    found: list[tuple[int, int, str]] = []
    for phrase in phrases:
        if not phrase:
            continue
        first_offset, first_term = phrase[0]
        span = max(offset for offset, _ in phrase) - first_offset
        for at in positions_of(first_term):
            start = at - first_offset  # the position of offset 0
            if start < 0 or at + span >= count:
                continue
            if all(holds(start + offset, term) for offset, term in phrase):
                found.append((at, at + span, phrase_key(phrase)))
                if len(found) >= MAX_MATCHES:
                    break
    return found


def phrase_tokens(
    found: list[tuple[int, int, str]], edge: Callable[[int, bool], int]
) -> list[Match]:
    """The occurrences of :func:`phrase_occurrences` as tokens in text order, from the
    start of the first word to the end of the last (``edge(position, last)``); an
    occurrence overlapping the one before is left out."""
    found.sort()
    matches: list[Match] = []
    end_of_last = -1
    for first, last, key in found:
        start, end = edge(first, False), edge(last, True)
        if start < end_of_last:
            continue  # overlaps the previous occurrence (a repeated word): keep the first
        matches.append((start, end, key))
        end_of_last = end
    return matches


def _word_matches(text: str, analyzer: Analyzer, matcher: TermMatcher) -> list[Match]:
    """Matching words in text order, with the query term each answers (at most
    :data:`MAX_MATCHES`): the terms and prefixes of ``matcher``, not its phrases.

    The analyzer analyzes each whitespace chunk on its own (see
    :meth:`bnsearch.analysis.Analyzer.chunk_terms`), so the chunks that hold a match are
    found among the text's *distinct* chunks on their cached terms, and then located in
    the text by string search (an occurrence counts where whitespace or an end of the
    text surrounds it, as a chunk). Matches are made for those chunks only: the other
    words of a hit's body cost C-level work (split, dict lookups), no token object.
    """
    distinct = list(dict.fromkeys(text.split()))
    entries = analyzer.chunk_terms(distinct)
    wanted: frozenset[str | None] = matcher.terms
    if matcher.prefixes:  # each distinct term of the text tested once, not once a chunk
        seen = set(chain.from_iterable(entries))
        seen.discard(None)
        wanted = frozenset(matcher.matching(seen))  # type: ignore[arg-type]
    # the chunks whose terms are not disjoint from the wanted ones, in C
    holding = list(compress(distinct, map(not_, map(wanted.isdisjoint, entries))))
    found: list[tuple[int, str]] = []
    size = len(text)
    for chunk in holding:
        start = text.find(chunk)
        while start >= 0:
            end = start + len(chunk)
            if (start == 0 or text[start - 1].isspace()) and (end == size or text[end].isspace()):
                found.append((start, chunk))
            start = text.find(chunk, start + 1)
    found.sort()
    matches: list[Match] = []
    for offset, chunk in found:
        for start, end, term in analyzer.chunk_words(chunk):
            if term is None:
                continue
            key = matcher(term)
            if key is not None:
                matches.append((offset + start, offset + end, key))
                if len(matches) >= MAX_MATCHES:
                    return matches
    return matches


def _words_from(text: str, analyzer: Analyzer, start: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of the (not dropped) words of ``text`` in order, from the chunk that
    holds (or follows) offset ``start`` on, made lazily: a snippet's edges read a few."""
    begin = min(max(start, 0), len(text))
    while begin > 0 and not text[begin - 1].isspace():
        begin -= 1  # back to the start of the chunk holding ``start``
    for found in _CHUNK.finditer(text, begin):
        offset = found.start()
        for word_start, word_end, term in analyzer.chunk_words(found.group()):
            if term is not None:
                yield offset + word_start, offset + word_end


def highlight_all(text: str, analyzer: Analyzer, matcher: TermMatcher) -> Fragment:
    """The whole of ``text`` as one fragment with every matching word marked (for titles)."""
    spans = tuple((start, end) for start, end, _ in _matches(text, analyzer, matcher))
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
    return fragment_of(
        text,
        _matches(text, analyzer, matcher),
        matcher,
        fragment_chars,
        functools.partial(_words_from, text, analyzer),
        functools.partial(_leading_end, text, analyzer),
    )


def fragment_of(
    text: str,
    matches: list[Match],
    matcher: TermMatcher,
    fragment_chars: int,
    words_from: Callable[[int], Iterable[tuple[int, int]]],
    leading_end: Callable[[int], int],
) -> Fragment:
    """The snippet of ``text`` around the best window of ``matches`` (see
    :func:`best_fragment`): ``words_from(offset)`` gives the ``(start, end)`` of the kept
    words in order, at least those starting at ``offset`` or later, and
    ``leading_end(chars)`` the end of the last word, dropped ones too, that ends within
    the first ``chars`` characters (0 if none)."""
    if not matches:
        return _leading_fragment(text, leading_end(fragment_chars), fragment_chars)
    first, last = _best_window(matches, matcher, fragment_chars)
    chosen = matches[first : last + 1]
    start, end = _stretch(text, words_from, chosen[0][0], chosen[-1][1], fragment_chars)
    spans = tuple((first - start, last - start) for first, last, _ in chosen)
    return Fragment(
        text=text[start:end],
        start=start,
        end=end,
        spans=spans,
        truncated_before=bool(text[:start].strip(BLANK_EDGES)),
        truncated_after=bool(text[end:].strip(BLANK_EDGES)),
    )


def _best_window(
    matches: list[Match], matcher: TermMatcher, fragment_chars: int
) -> tuple[int, int]:
    """Indices (first, last) into ``matches`` of the best-scoring window."""
    best = (-1.0, 0, 0)
    j = 0
    counts: dict[str, int] = {}
    score = 0.0
    count = len(matches)
    keys = [key for _, _, key in matches]
    weights = {key: matcher.weight(key) for key in set(keys)}
    starts = [start for start, _, _ in matches]
    ends = [end for _, end, _ in matches]
    for i in range(count):
        if j < i:
            j, counts, score = i, {}, 0.0
        limit = starts[i] + fragment_chars
        while j < count and ends[j] <= limit:
            key = keys[j]
            seen = counts.get(key, 0)
            score += weights[key] * (1.0 if seen == 0 else 0.1)
            counts[key] = seen + 1
            j += 1
        if j == i:  # a single match longer than the window
            window_score = weights[keys[i]]
            if window_score > best[0]:
                best = (window_score, i, i)
            continue
        if score > best[0]:
            best = (score, i, j - 1)
        key = keys[i]
        seen = counts[key]
        score -= weights[key] * (1.0 if seen == 1 else 0.1)
        counts[key] = seen - 1
    return best[1], best[2]


def _stretch(
    text: str,
    words_from: Callable[[int], Iterable[tuple[int, int]]],
    start: int,
    end: int,
    fragment_chars: int,
) -> tuple[int, int]:
    """Grow ``[start, end)`` to about ``fragment_chars`` on word edges, sentence-aware.

    ``words_from(offset)`` gives the ``(start, end)`` of the text's words in order, at
    least all of those starting at ``offset`` or later.
    """
    spare = max(fragment_chars - (end - start), 0)
    # context before: up to a third of the spare room, from a sentence start if one is near
    lead_limit = start - spare // 3
    # the last sentence end in text[lead_limit:start] (one C search per end character)
    last_end = max(text.rfind(mark, max(lead_limit, 0), start) for mark in SENTENCE_ENDS)
    if last_end >= 0:
        new_start = last_end + 1
    else:
        new_start = start
        for word_start, _ in words_from(lead_limit):
            if word_start >= lead_limit:
                new_start = min(word_start, start)
                break
    while new_start < start and text[new_start].isspace():
        new_start += 1
    room = fragment_chars - (end - new_start)
    new_end = end
    for word_start, word_end in words_from(end):
        if word_start >= end:
            if word_end - new_start > fragment_chars or word_end - end > room:
                break
            new_end = word_end
    # keep a sentence-final danda or question mark that directly follows
    if new_end < len(text) and text[new_end] in SENTENCE_ENDS and text[new_end] != "\n":
        new_end += 1
    return new_start, new_end


def _leading_end(text: str, analyzer: Analyzer, fragment_chars: int) -> int:
    end = 0
    for token in analyzer.iter_tokens(text, keep_dropped=True):
        if token.end > fragment_chars:
            break
        end = token.end
    return end


def _leading_fragment(text: str, end: int, fragment_chars: int) -> Fragment:
    """The start of ``text`` up to ``end`` (the end of a word), as a fragment."""
    if end == 0:
        end = min(len(text), fragment_chars)
    start = len(text) - len(text.lstrip())
    start = min(start, end)
    return Fragment(
        text=text[start:end],
        start=start,
        end=end,
        truncated_after=bool(text[end:].strip(BLANK_EDGES)),
    )


@attrs.frozen(kw_only=True)
class KeptWords:
    """The words of a text as its segment kept them (:mod:`bnsearch.index.wordspans`):
    per word position its ``start``/``end`` in ``text`` and whether the analysis dropped
    it, and ``positions``: the positions of the terms a query looks for (from the
    postings, ascending). What :func:`best_kept_fragment` and :func:`highlight_all_kept`
    read instead of analysing ``text`` again: they give what :func:`best_fragment` and
    :func:`highlight_all` give."""

    text: str
    starts: Sequence[int]
    ends: Sequence[int]
    dropped: Sequence[bool]
    positions: Mapping[str, Sequence[int]]

    def matches(self, matcher: TermMatcher) -> list[Match]:
        """What :func:`_matches` finds, from the kept positions."""
        starts, ends = self.starts, self.ends
        words: list[Match] = []
        for key, places in self.keyed(matcher):
            words.extend((starts[p], ends[p], key) for p in places)
        words.sort()
        del words[MAX_MATCHES:]
        return self.with_phrases(words, matcher)

    def keyed(self, matcher: TermMatcher) -> list[tuple[str, Sequence[int]]]:
        """``(key, positions)`` of the kept terms that answer a term or prefix of
        ``matcher`` (the key: what they answer)."""
        found = []
        for term, places in self.positions.items():
            key = matcher(term)
            if key is not None:
                found.append((key, places))
        return found

    def with_phrases(self, words: list[Match], matcher: TermMatcher) -> list[Match]:
        """The word matches ``words`` (in text order, at most :data:`MAX_MATCHES`) with
        the phrases of ``matcher`` merged in (see :func:`_merged`)."""
        if not matcher.phrases:
            return words
        starts, ends = self.starts, self.ends
        sets = {term: frozenset(places) for term, places in self.positions.items()}
        empty: frozenset[int] = frozenset()
        occurrences = phrase_occurrences(
            matcher.phrases,
            lambda first: self.positions.get(first, ()),
            lambda position, term: position in sets.get(term, empty),
            len(starts),
        )
        return _merged(
            words,
            phrase_tokens(occurrences, lambda at, last: ends[at] if last else starts[at]),
        )

    def words_from(self, offset: int) -> Iterator[tuple[int, int]]:
        """``(start, end)`` of the kept words starting at ``offset`` or later, in order."""
        starts, ends, dropped = self.starts, self.ends, self.dropped
        for at in range(bisect.bisect_left(starts, offset), len(starts)):
            if not dropped[at]:
                yield starts[at], ends[at]

    def leading_end(self, fragment_chars: int) -> int:
        """The end of the last word (dropped ones too) ending within ``fragment_chars``."""
        count = bisect.bisect_right(self.ends, fragment_chars)
        return self.ends[count - 1] if count else 0


def best_kept_fragment(
    words: KeptWords, matcher: TermMatcher, *, fragment_chars: int = 200
) -> Fragment:
    """:func:`best_fragment` of ``words.text``, read from its kept words."""
    if fragment_chars < 1:
        raise ValueError(f"fragment_chars must be >= 1, got {fragment_chars}")
    return fragment_of(
        words.text,
        words.matches(matcher),
        matcher,
        fragment_chars,
        words.words_from,
        words.leading_end,
    )


def highlight_all_kept(words: KeptWords, matcher: TermMatcher) -> Fragment:
    """:func:`highlight_all` of ``words.text``, read from its kept words."""
    spans = tuple((start, end) for start, end, _ in words.matches(matcher))
    return Fragment(text=words.text, start=0, end=len(words.text), spans=spans)


def matcher_for(
    terms: Collection[str],
    prefixes: Collection[str] = (),
    weights: Mapping[str, float] | None = None,
    phrases: Collection[Phrase] = (),
) -> TermMatcher:
    """A :class:`TermMatcher` for the analysed terms, prefixes and phrases of a query."""
    return TermMatcher(
        terms=frozenset(terms),
        prefixes=tuple(prefixes),
        phrases=tuple(phrases),
        weights=dict(weights or {}),
    )
