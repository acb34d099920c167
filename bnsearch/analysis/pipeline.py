"""The analyzer pipeline: one tokenizer, then term filters, composed with ``|``.

``IcuWordTokenizer() | BengaliNormalizer() | StopFilter() | BengaliStemmer()`` builds an
:class:`Analyzer`. A filter is a small frozen object with a ``name`` (recorded in the
analyzer's identity), a ``stage`` (``"normalize"``, ``"stop"`` or ``"stem"``) and a
``__call__(term) -> str | None``; ``None`` (or ``""``) drops the term but keeps its position.

Why it is fast: filters are pure functions of one word, so the analyzer remembers, for
every whitespace-separated chunk it has seen, the terms that chunk produces. Text is split
on whitespace in C (``str.split``); ICU runs only on chunks not seen before. Whitespace
always separates words under UAX #29 (the one exception, combining marks right after a
space, which ICU glues to the space, is reproduced by dropping such leading marks), so
the result equals running ICU over the whole text. Word frequencies follow Zipf's law, so
after a few thousand articles nearly every chunk is a cache hit and the per-word cost is
one dictionary lookup.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import attrs

from bnsearch.analysis.icu_bridge import ICU_VERSION, word_spans
from bnsearch.analysis.token import Token
from bnsearch.errors import AnalysisError

#: Bump when the segmentation or chunking logic changes what terms come out.
PIPELINE_VERSION = 1

_LEADING_MARK_CATEGORIES = frozenset({"Mn", "Mc", "Me", "Cf"})


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
        skip = 0
        while skip < len(chunk) and unicodedata.category(chunk[skip]) in _LEADING_MARK_CATEGORIES:
            skip += 1
        if skip:
            return [(start + skip, end + skip) for start, end in word_spans(chunk[skip:])]
        return word_spans(chunk)

    def __or__(self, other: TermFilter) -> Analyzer:
        return Analyzer(tokenizer=self, filters=(other,))


def _check_filter(candidate: object) -> TermFilter:
    if isinstance(candidate, IcuWordTokenizer):
        raise AnalysisError("only one tokenizer is allowed, and it must come first")
    if not isinstance(candidate, TermFilter):
        raise AnalysisError(
            f"{candidate!r} is not a term filter: it needs a name, a stage and __call__(term)"
        )
    return candidate


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
    filters: tuple[TermFilter, ...] = attrs.field(
        default=(), converter=lambda fs: tuple(_check_filter(f) for f in fs)
    )
    cache_size: int = attrs.field(default=500_000, kw_only=True)
    _cache: dict[str, _ChunkWords] = attrs.field(init=False, factory=dict, repr=False)
    _term_cache: dict[str, tuple[str | None, ...]] = attrs.field(
        init=False, factory=dict, repr=False
    )
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock, repr=False)

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
        term: str | None = word
        for term_filter in self.filters:
            term = term_filter(term)
            if not term:
                return None
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
    def _chunk(self, chunk: str) -> _ChunkWords:
        words = tuple(
            (start, end, self.term(chunk[start:end])) for start, end in self.tokenizer.spans(chunk)
        )
        with self._lock:
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
                self._term_cache.clear()
            self._cache[chunk] = words
        return words

    def _chunk_terms(self, chunk: str) -> tuple[str | None, ...]:
        words = self._cache.get(chunk)
        if words is None:
            words = self._chunk(chunk)
        terms = tuple(term for _, _, term in words)
        self._term_cache[chunk] = terms
        return terms

    def term_sequence(self, text: str) -> list[str | None]:
        """One entry per word position: its term, or ``None`` where a filter dropped it."""
        _check_text(text)
        get = self._term_cache.get
        miss = self._chunk_terms
        sequence: list[str | None] = []
        extend = sequence.extend
        for chunk in text.split():
            terms = get(chunk)
            extend(terms if terms is not None else miss(chunk))
        return sequence

    def terms(self, text: str) -> list[str]:
        """The terms of ``text`` in order (dropped words left out)."""
        return [term for term in self.term_sequence(text) if term is not None]

    def tokens(self, text: str) -> list[Token]:
        """Tokens with term, position and ``start``/``end`` offsets into ``text``."""
        return list(self.iter_tokens(text))

    def iter_tokens(self, text: str, *, keep_dropped: bool = False) -> Iterator[Token]:
        """Yield tokens lazily; with ``keep_dropped``, dropped words come with term ``""``."""
        _check_text(text)
        position = 0
        offset = 0
        find = text.find
        for chunk in text.split():
            offset = find(chunk, offset)
            words = self._cache.get(chunk)
            if words is None:
                words = self._chunk(chunk)
            for start, end, term in words:
                if term is not None:
                    yield Token(term, position, offset + start, offset + end)
                elif keep_dropped:
                    yield Token("", position, offset + start, offset + end)
                position += 1
            offset += len(chunk)

    def __call__(self, text: str) -> list[Token]:
        """Same as :meth:`tokens`."""
        return self.tokens(text)
