"""The analyzer pipeline: one tokenizer, then term filters, composed with ``|``.

``IcuWordTokenizer() | BengaliNormalizer() | StopFilter() | BengaliStemmer()`` builds an
:class:`Analyzer`. A filter is a small frozen object with a ``name`` (recorded in the
analyzer's identity), a ``stage`` (``"normalize"``, ``"stop"`` or ``"stem"``) and a
``__call__(term) -> str | None``; ``None`` (or ``""``) drops the term but keeps its position.

Why it is fast: filters are pure functions of one word, so the analyzer remembers, for
every whitespace-separated chunk it has seen, the terms that chunk produces. Text is split
on whitespace in C (``str.split``); ICU runs only on new chunks that are not a plain Bengali
word (:meth:`IcuWordTokenizer.batch_spans`). Whitespace
always separates words under UAX #29 (the one exception, combining marks right after a
space, which ICU glues to the space, is reproduced by dropping such leading marks), so
the result equals running ICU over the whole text. Word frequencies follow Zipf's law, so
after a few thousand articles nearly every chunk is a cache hit and the per-word cost is
one dictionary lookup.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, islice
from operator import methodcaller
from typing import Protocol, TypeVar, cast, runtime_checkable

import attrs

from bnsearch.analysis.icu_bridge import ICU_VERSION, word_spans
from bnsearch.analysis.token import Token
from bnsearch.errors import AnalysisError

_Item = TypeVar("_Item")

#: Bump when the segmentation or chunking logic changes what terms come out.
PIPELINE_VERSION = 1

_LEADING_MARK_CATEGORIES = frozenset({"Mn", "Mc", "Me", "Cf"})
#: Bengali letters or digits, then any Bengali letters, signs, digits and joiners: always
#: exactly one word for ICU (checked against ICU by a property test).
_BENGALI_WORD_START = "".join(
    chr(c) for c in range(0x0980, 0x0A00) if unicodedata.category(chr(c)) in {"Lo", "Nd"}
)
_BENGALI_WORD_REST = "".join(
    chr(c)
    for c in range(0x0980, 0x0A00)
    if unicodedata.category(chr(c)) in {"Lo", "Nd", "Mn", "Mc"}
)
#: Punctuation that never joins words at a word's edge (no "_", which joins words, and no
#: letters' mid-word marks except where they stand at the edge, where they break).
_EDGE_PUNCTUATION = re.escape(",.:;!?()[]{}'\"‘’“”।॥-–—/…")
_PLAIN_BENGALI_WORD = re.compile(
    f"[{_EDGE_PUNCTUATION}]*([{_BENGALI_WORD_START}][{_BENGALI_WORD_REST}\u200c\u200d]*)"
    f"[{_EDGE_PUNCTUATION}]*"
)
_PLAIN_WORD = _PLAIN_BENGALI_WORD.fullmatch
#: The span of a plain word's match (its word), and a match standing in for a chunk that
#: is not one (see IcuWordTokenizer.batch_flat_spans).
_WORD_SPAN = methodcaller("span", 1)
_ANY_PLAIN = _PLAIN_WORD("\u0995")


@runtime_checkable
class TermFilter(Protocol):
    """A pure function of one term; ``None`` or ``""`` drops it (its position stays)."""

    @property
    def name(self) -> str: ...

    @property
    def stage(self) -> str: ...

    def __call__(self, term: str) -> str | None: ...


#: One chunk's analysis: for each word, (start in chunk, end in chunk, term or None).
_ChunkWords = tuple[tuple[int, int, "str | None"], ...]


@attrs.frozen
class IcuWordTokenizer:
    """Tokenizer: ICU (UAX #29) word boundaries; words, numbers and Latin words are kept.

    Spaces, punctuation, symbols and emoji are dropped; the danda ``।`` and ``॥`` end a
    word even with no space after them.
    """

    name: str = "icu-words"

    def spans(self, chunk: str) -> list[tuple[int, int]]:
        """Word spans of one whitespace-free chunk, as ``str`` indices into it."""
        return self.batch_spans([chunk])[0]

    def batch_spans(self, chunks: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Word spans of many whitespace-free chunks, with one ICU pass over all of them.

        A chunk made only of Bengali letters, signs, digits and joiners, perhaps with
        punctuation stuck to its edges (``বৈঠকে,`` ``‘ঢাকা’``), is one word under UAX #29
        (letters, digits and their marks never break apart; punctuation at a word's edge
        never joins it), so it skips ICU. The other chunks are joined with newlines (a hard
        word break), segmented once, and the spans handed back to their chunks; offsets are
        relative to each chunk.
        """
        result: list[list[tuple[int, int]]] = []
        hard: list[str] = []
        hard_at: list[int] = []
        plain_word = _PLAIN_BENGALI_WORD.fullmatch
        for index, chunk in enumerate(chunks):
            match = plain_word(chunk)
            if match:
                result.append([match.span(1)])
            else:
                result.append([])
                hard.append(chunk)
                hard_at.append(index)
        for index, spans in zip(hard_at, _icu_spans(hard), strict=True):
            result[index] = spans
        return result

    def batch_flat_spans(self, chunks: Sequence[str]) -> list[tuple[int, ...]]:
        """Per chunk, what :meth:`batch_spans` gives, flat: ``(start, end, start, end,
        ...)``. Plain words (see :meth:`batch_spans`) are matched and their spans read in
        C for a whole batch (the span of the match's word is the flat tuple); only the
        other chunks go to ICU, together."""
        matches = list(map(_PLAIN_WORD, chunks))
        hard_at = [index for index, match in enumerate(matches) if match is None]
        for index in hard_at:
            matches[index] = _ANY_PLAIN  # read as a plain word, replaced below
        flat: list[tuple[int, ...]] = list(map(_WORD_SPAN, matches))
        remembered = _ICU_SPANS
        unknown = [index for index in hard_at if chunks[index] not in remembered]
        for index, spans in zip(unknown, _icu_spans([chunks[i] for i in unknown]), strict=True):
            flat[index] = tuple(chain.from_iterable(spans))
        for index in hard_at:  # segmented by ICU lately (batch_words): not again
            if chunks[index] in remembered:
                flat[index] = remembered[chunks[index]]
        return flat

    def batch_words(self, chunks: Sequence[str]) -> tuple[list[str], list[int]]:
        """The words of many chunks in one flat list, and how many each chunk has: what
        slicing each chunk by :meth:`batch_spans` gives, for callers that need no offsets.

        A plain word (see :meth:`batch_spans`) is its regex group, taken in C for a whole
        batch; only the other chunks go to ICU, together.
        """
        words: list[str | None] = [
            match[1] if match else None for match in map(_PLAIN_WORD, chunks)
        ]
        if None not in words:
            return cast("list[str]", words), [1] * len(words)
        # a 1-tuple per chunk (made in C), then the ICU words of the others put in place
        per_chunk = cast("list[tuple[str, ...]]", list(zip(words)))
        hard_at = [index for index, word in enumerate(words) if word is None]
        hard = [chunks[index] for index in hard_at]
        found = _icu_spans(hard)
        _remember_icu_spans(hard, found)
        for index, chunk, spans in zip(hard_at, hard, found, strict=True):
            per_chunk[index] = tuple(chunk[start:end] for start, end in spans)
        return list(chain.from_iterable(per_chunk)), list(map(len, per_chunk))

    def __or__(self, other: TermFilter) -> Analyzer:
        return Analyzer(tokenizer=self, filters=(other,))


@attrs.frozen
class WordMap:
    """Filter: one pure function of a word (``name`` and ``stage`` as for any filter).

    For filters that are nothing but a function: ``WordMap("bn-loose-v1", "normalize",
    loose_fold)``. A function returning ``""`` or ``None`` drops the word.
    """

    name: str
    stage: str
    function: Callable[[str], str | None] = attrs.field(repr=False)

    def __call__(self, term: str) -> str | None:
        return self.function(term)


def _icu_spans(chunks: list[str]) -> list[list[tuple[int, int]]]:
    """Word spans of chunks that are not one plain word, with one ICU pass over all.

    Leading combining marks are dropped (ICU glues them to the whitespace before); the
    rest of the chunks are joined with newlines (a hard word break), segmented once, and
    the spans handed back to their chunks, relative to each chunk.
    """
    result: list[list[tuple[int, int]]] = [[] for _ in chunks]
    if not chunks:
        return result
    skips = list(map(leading_marks, chunks))
    joined = "\n".join(chunk[skip:] for chunk, skip in zip(chunks, skips, strict=True))
    position = 0
    chunk_start = 0
    chunk_end = len(chunks[0]) - skips[0]
    for start, end in word_spans(joined):
        while start >= chunk_end:
            position += 1
            chunk_start = chunk_end + 1
            chunk_end = chunk_start + len(chunks[position]) - skips[position]
        start += leading_marks(joined, start, end)
        if start < end:  # a span of signs alone (a number sign after punctuation) is none
            shift = skips[position] - chunk_start
            result[position].append((start + shift, end + shift))
    return result


#: The flat word spans of chunks ICU segmented lately (:meth:`IcuWordTokenizer.batch_words`
#: analyses a new chunk's terms, :meth:`IcuWordTokenizer.batch_flat_spans` then reads its
#: word spans for the index without a second ICU pass); starts over past the bound.
_ICU_SPANS: dict[str, tuple[int, ...]] = {}
_MAX_ICU_SPANS = 100_000


def _remember_icu_spans(chunks: list[str], spans: list[list[tuple[int, int]]]) -> None:
    if len(_ICU_SPANS) + len(chunks) > _MAX_ICU_SPANS:
        _ICU_SPANS.clear()
    _ICU_SPANS.update(zip(chunks, map(tuple, map(chain.from_iterable, spans)), strict=True))


def _regroup(flat: list[_Item], counts: list[int]) -> list[tuple[_Item, ...]]:
    """``flat`` cut into consecutive tuples of ``counts[i]`` items (one item in most)."""
    if counts.count(1) == len(counts):
        return list(zip(flat))  # 1-tuples, made in C
    items = iter(flat)
    return [(next(items),) if count == 1 else tuple(islice(items, count)) for count in counts]


def leading_marks(text: str, start: int = 0, end: int | None = None) -> int:
    """How many combining or format characters open ``text[start:end]``: they belong to
    no word, at a chunk's start (ICU glues them to the whitespace before) and at a word's
    (ICU starts a word with an Arabic number sign, U+0600, which a query typed without
    the punctuation before it would lose: both sides drop it). The one rule for what no
    word starts with: spelling suggestions drop the same characters
    (:func:`bnsearch.search.suggest.did_you_mean`)."""
    stop = len(text) if end is None else end
    skip = 0
    while (
        start + skip < stop and unicodedata.category(text[start + skip]) in _LEADING_MARK_CATEGORIES
    ):
        skip += 1
    return skip


def _check_filter(candidate: object) -> TermFilter:
    if isinstance(candidate, IcuWordTokenizer):
        raise AnalysisError("only one tokenizer is allowed, and it must come first")
    if not isinstance(candidate, TermFilter):
        raise AnalysisError(
            f"{candidate!r} is not a term filter: it needs a name, a stage and __call__(term)"
        )
    return candidate


def _check_filters(filters: Iterable[object]) -> tuple[TermFilter, ...]:
    return tuple(_check_filter(candidate) for candidate in filters)


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        hint = " (decode bytes first, e.g. data.decode('utf-8'))" if isinstance(text, bytes) else ""
        raise TypeError(f"analysis expects str, got {type(text).__name__}{hint}")
    return text


@attrs.define(eq=False)
class Analyzer:
    """A tokenizer followed by term filters; callable on text.

    ``analyzer(text)`` and :meth:`tokens` give :class:`Token` objects with offsets;
    :meth:`terms` gives the terms only; :meth:`term_sequence` gives one entry per
    position (``None`` for a dropped stopword), the form the index uses.
    """

    tokenizer: IcuWordTokenizer = attrs.field(factory=IcuWordTokenizer)
    filters: tuple[TermFilter, ...] = attrs.field(default=(), converter=_check_filters)
    cache_size: int = attrs.field(default=300_000, kw_only=True)
    _chunk_terms: dict[str, tuple[str | None, ...]] = attrs.field(
        init=False, factory=dict, repr=False
    )
    _chunk_words: dict[str, _ChunkWords] = attrs.field(init=False, factory=dict, repr=False)
    _word_terms: dict[str, str | None] = attrs.field(init=False, factory=dict, repr=False)

    def __or__(self, other: TermFilter) -> Analyzer:
        return Analyzer(
            tokenizer=self.tokenizer, filters=(*self.filters, other), cache_size=self.cache_size
        )

    def __getstate__(self) -> dict[str, object]:
        return {"tokenizer": self.tokenizer, "filters": self.filters, "cache_size": self.cache_size}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(state["tokenizer"], state["filters"], cache_size=state["cache_size"])  # type: ignore[misc]

    @property
    def identity(self) -> str:
        """Name, version and ICU version of this chain, recorded by the index.

        Two analyzers with the same identity produce the same terms for every text.
        """
        parts = [f"{self.tokenizer.name}(icu={ICU_VERSION})", *(f.name for f in self.filters)]
        return f"bnsearch-analysis-v{PIPELINE_VERSION}:" + "|".join(parts)

    # -- the chain on one word -------------------------------------------------------
    def term(self, word: str) -> str | None:
        """Run the filters on one already-segmented word; ``None`` if it is dropped."""
        term = word
        for term_filter in self.filters:
            filtered = term_filter(term)
            if not filtered:
                return None
            term = filtered
        return term

    def normalize(self, word: str) -> str:
        """The query-side form of a partial word: normalize-stage filters only.

        Used for prefix, fuzzy and autocomplete input, where stopword removal and
        stemming would be wrong (a half-typed ``প্র`` must stay ``প্র``).
        """
        _check_text(word)
        term = word
        for term_filter in self.filters:
            if term_filter.stage == "normalize":
                term = term_filter(term) or ""
        return term

    def without(self, *stages: str) -> Analyzer:
        """A copy of this analyzer without the filters of the given stages."""
        kept = tuple(f for f in self.filters if f.stage not in stages)
        return Analyzer(tokenizer=self.tokenizer, filters=kept, cache_size=self.cache_size)

    # -- the chain on text ------------------------------------------------------------
    def filter_words(self, words: Sequence[str]) -> list[str | None]:
        """The filters over many already-segmented words, batched where a filter has a
        ``batch`` method: per word what :meth:`term` gives."""
        terms: list[str | None] = list(words)
        for term_filter in self.filters:
            batch = getattr(term_filter, "batch", None)
            if batch is not None:
                terms = batch(terms)
            else:
                terms = [term_filter(term) if term else None for term in terms]
        return [term or None for term in terms]

    def _terms_of_words(self, surfaces: Iterable[str]) -> dict[str, str | None]:
        """Terms for surface words, from the word cache or computed in one batch."""
        known = self._word_terms
        new = [word for word in dict.fromkeys(surfaces) if word not in known]
        if new:
            known.update(zip(new, self.filter_words(new), strict=True))
        return known

    def _make_room(self) -> None:
        if len(self._chunk_terms) >= self.cache_size or len(self._word_terms) >= self.cache_size:
            self._chunk_terms.clear()
            self._chunk_words.clear()
            self._word_terms.clear()

    def _fill_terms(self, chunks: list[str]) -> list[tuple[str | None, ...]]:
        """Analyse distinct chunks not seen before; their entries, in order (also cached)."""
        self._make_room()
        surfaces, counts = self.tokenizer.batch_words(chunks)
        word_terms = self._terms_of_words(surfaces)
        terms = list(map(word_terms.__getitem__, surfaces))
        entries = _regroup(terms, counts)
        self._chunk_terms.update(zip(chunks, entries, strict=True))
        return entries

    def term_sequence(self, text: str) -> list[str | None]:
        """One entry per word position: its term, or ``None`` where a filter dropped it."""
        if not isinstance(text, str):  # (the check's frame only where it raises)
            _check_text(text)
        chunks = text.split()
        get = self._chunk_terms.get
        try:  # (every chunk seen before: their cached entries joined, no list between)
            return list(chain.from_iterable(map(get, chunks)))  # type: ignore[arg-type]
        except TypeError:  # a None entry: some chunks were not seen before
            return list(chain.from_iterable(self._complete(chunks, list(map(get, chunks)))))

    def chunk_terms(self, chunks: Sequence[str]) -> list[tuple[str | None, ...]]:
        """Per whitespace-free chunk, its entries as :meth:`term_sequence` gives them
        (``term_sequence(" ".join(chunks))`` cut back per chunk); chunks not seen before
        are analyzed together in one batch. For callers that keep their own per-chunk
        tables (the index builder)."""
        return self._complete(chunks, list(map(self._chunk_terms.get, chunks)))

    def _complete(
        self, chunks: Sequence[str], found: list[tuple[str | None, ...] | None]
    ) -> list[tuple[str | None, ...]]:
        """``found`` (the cached entries of ``chunks``) with its gaps analyzed in one batch."""
        if None not in found:  # all cached (one C-level scan)
            return found  # type: ignore[return-value]
        missing = [chunk for chunk, entry in zip(chunks, found, strict=True) if entry is None]
        distinct = list(dict.fromkeys(missing))
        entries = self._fill_terms(distinct)
        if len(distinct) == len(found):  # every chunk new, none twice: distinct is chunks
            return entries
        new = dict(zip(distinct, entries, strict=True))
        return [
            new[chunk] if entry is None else entry
            for chunk, entry in zip(chunks, found, strict=True)
        ]

    def terms(self, text: str) -> list[str]:
        """The terms of ``text`` in order (dropped words left out)."""
        return list(filter(None, self.term_sequence(text)))

    def tokens(self, text: str) -> list[Token]:
        """Tokens with term, position and ``start``/``end`` offsets into ``text``."""
        return list(self.iter_tokens(text))

    def chunk_words(self, chunk: str) -> _ChunkWords:
        """The words of one whitespace-free chunk as ``(start, end, term)`` (offsets into
        the chunk; ``None`` for a dropped word), cached: what :meth:`iter_tokens` reads per
        chunk, also for callers that build tokens for a few chunks only (highlighting)."""
        entry = self._chunk_words.get(chunk)
        if entry is None:
            self._make_room()
            spans = self.tokenizer.spans(chunk)
            word_terms = self._terms_of_words(chunk[s:e] for s, e in spans)
            entry = tuple((s, e, word_terms[chunk[s:e]]) for s, e in spans)
            self._chunk_words[chunk] = entry
        return entry

    def iter_tokens(self, text: str, *, keep_dropped: bool = False) -> Iterator[Token]:
        """Yield tokens lazily; with ``keep_dropped``, dropped words come with term ``""``."""
        _check_text(text)
        position = 0
        offset = 0
        find = text.find
        for chunk in text.split():
            offset = find(chunk, offset)
            for start, end, term in self.chunk_words(chunk):
                if term is not None:
                    yield Token(term, position, offset + start, offset + end)
                elif keep_dropped:
                    yield Token("", position, offset + start, offset + end)
                position += 1
            offset += len(chunk)

    def __call__(self, text: str) -> list[Token]:
        """Same as :meth:`tokens`."""
        return self.tokens(text)
