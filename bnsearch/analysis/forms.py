"""Inflection flags: which grammatical endings the stemmer took off a word, as bits.

Stemming makes মামলাটি ("the case") and মামলা ("case") one term, which is right for
matching but loses a signal: a searcher who types an inflected form often copies it from
the text they remember. The index therefore keeps, for every posting, one byte: the OR of
the *form flags* of the term's occurrences in that document. A word's form flag has one
bit per kind of ending in what the stemmer removed (the part of the word after its stem,
split into known endings from the right): মামলাটি carries the classifier bit, মামলাটির
the classifier and genitive bits, মামলা none. A document "has the typed form" when its
posting has every bit of the query word's flag.

The eight kinds (:data:`ENDING_KINDS`) follow the stemmer's layers: emphatic clitics,
genitive, objective, locative, verb endings, plurals, classifiers, and anything else. A
stem that itself lost a final letter (সরকার -> সরকা) gives its bare form that letter's
bit too; such words simply tell fewer forms apart.

:func:`inflection_split` cuts an analyzer's chain before its stemmer, so the index can
analyze text into surface forms once and stem each distinct form once.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import attrs

from bnsearch.analysis.normalize import normalize_word
from bnsearch.analysis.pipeline import Analyzer

#: Kinds of ending, one bit each (bit = position in this tuple); the last is "other".
ENDING_KINDS: tuple[tuple[str, str], ...] = (
    ("emphatic", "ই ও"),
    ("genitive", "ের এর য়ের র দের"),
    ("objective", "কে"),
    ("locative", "তে য়ে য় ে"),
    (
        "verb",
        "েছিলেন েছিলাম েছিল েছেন েছিস েছে েছি ছিলেন ছিলাম ছিল ছেন ছে ছি "
        "চ্ছিলেন চ্ছিল চ্ছেন চ্ছে চ্ছি লেন বেন তেন তাম েননি েনি",
    ),
    ("plural", "গুলো গুলি গুলা রা গণ বৃন্দ সমূহ"),
    ("classifier", "টি টা টো খানা খানি"),
    ("other", ""),
)
_OTHER_BIT = len(ENDING_KINDS) - 1
_KIND_OF_ENDING = {
    normalize_word(ending): bit
    for bit, (_, endings) in enumerate(ENDING_KINDS)
    for ending in endings.split()
}
#: ending lengths, longest first, so the split from the right takes whole endings
_ENDING_LENGTHS = sorted({len(ending) for ending in _KIND_OF_ENDING}, reverse=True)


def form_flag(surface: str, term: str | None) -> int:
    """The form flag of ``surface`` (a word before stemming) whose stem is ``term``."""
    if term is None or surface == term:
        return 0
    if surface.startswith(term):  # the usual case: the flag of what the stemmer cut off
        rest = surface[len(term) :]
        flag = _FLAG_OF_REST.get(rest)
        if flag is None:
            flag = _rest_flag(rest)
            if len(_FLAG_OF_REST) < _MAX_RESTS:
                _FLAG_OF_REST[rest] = flag
        return flag
    return _rest_flag(surface)


#: What the stemmer cut off -> its flag: a few hundred distinct endings in a corpus.
_FLAG_OF_REST: dict[str, int] = {}
_MAX_RESTS = 10_000


def _rest_flag(rest: str) -> int:
    """The kinds of the known endings ``rest`` splits into from the right (longest
    ending first); the "other" bit if something remains that is no known ending."""
    flag = 0
    kind_of = _KIND_OF_ENDING
    while rest:
        # one dict lookup per ending length (not a test per ending): at a length only
        # one ending can match the word's tail
        for length in _ENDING_LENGTHS:
            kind = kind_of.get(rest[-length:]) if length <= len(rest) else None
            if kind is not None:
                flag |= 1 << kind
                rest = rest[:-length]
                break
        else:
            return flag | 1 << _OTHER_BIT
    return flag


def has_form(posting_flags: int, flag: int) -> bool:
    """Whether a posting's flags include every ending kind of a query word's ``flag``."""
    return flag != 0 and posting_flags & flag == flag


@attrs.frozen(eq=False)
class InflectionSplit:
    """An analyzer cut before its stemmer.

    ``surfaces`` runs the chain up to the stemmer (words with their endings);
    ``stems`` runs the rest on one such word. ``stems.term(surfaces_term)`` equals the
    whole chain's term for that word.
    """

    surfaces: Analyzer
    stems: Analyzer
    #: surface word -> (stem, form flag), bounded like the analyzers' caches
    _known: dict[str, tuple[str | None, int]] = attrs.field(init=False, factory=dict)
    #: whitespace-free chunk of a query -> its ``(term, flag)`` pairs, bounded the same way
    _chunks: dict[str, tuple[tuple[str, int], ...]] = attrs.field(init=False, factory=dict)

    def _lookup(self, words: Sequence[str]) -> list[tuple[str | None, int]]:
        known = self._known
        new = [word for word in dict.fromkeys(words) if word not in known]
        if new:
            if len(known) + len(new) > self.stems.cache_size:
                known.clear()  # (the words asked for that it held are new again)
                new = list(dict.fromkeys(words))
            # the stemming half in one batch (its filters' batch methods), then the flags
            terms = self.stems.filter_words(new)
            flags = map(form_flag, new, terms)
            known.update(zip(new, zip(terms, flags, strict=True), strict=True))
        return list(map(known.__getitem__, words))

    def terms_and_flags(self, words: Sequence[str]) -> tuple[list[str | None], list[int]]:
        """Stems (``None`` if the rest of the chain drops the word) and form flags."""
        found = self._lookup(words)
        return [term for term, _ in found], [flag for _, flag in found]

    def query_terms(self, text: str) -> list[tuple[str, int]]:
        """The terms of ``text`` in order (as the whole analyzer gives them), each with the
        form flag of the word it came from. Kept per whitespace-free chunk (the analyzers
        analyse text chunk by chunk, so a query's terms are its chunks' laid end to end):
        a query of words met before costs a split and a lookup a word."""
        if not isinstance(text, str):
            return self._query_terms(text)  # (raises the analyzers' TypeError)
        known = self._chunks
        found: list[tuple[str, int]] = []
        for chunk in text.split():
            entry = known.get(chunk)
            if entry is None:
                if len(known) >= self.stems.cache_size:
                    known.clear()
                entry = known[chunk] = tuple(self._query_terms(chunk))
            found += entry
        return found

    def _query_terms(self, text: str) -> list[tuple[str, int]]:
        """:meth:`query_terms` of ``text`` analysed (not looked up)."""
        return [(term, flag) for term, flag in self._lookup(self.surfaces.terms(text)) if term]

    def query_flags(self, text: str) -> dict[str, int]:
        """Per term of ``text``, the OR of the form flags its words carry in the query."""
        flags: dict[str, int] = {}
        for term, flag in self.query_terms(text):
            flags[term] = flags.get(term, 0) | flag
        return flags


_SPLITS: weakref.WeakKeyDictionary[Analyzer, InflectionSplit | None] = weakref.WeakKeyDictionary()


def inflection_split(analyzer: Analyzer) -> InflectionSplit | None:
    """``analyzer`` cut before its first ``stem``-stage filter; ``None`` without one.

    The same analyzer always gets the same split (so the halves' caches stay warm).
    """
    if analyzer in _SPLITS:
        return _SPLITS[analyzer]
    stages = [f.stage for f in analyzer.filters]
    split = None
    if "stem" in stages:
        at = stages.index("stem")
        head = Analyzer(
            tokenizer=analyzer.tokenizer,
            filters=analyzer.filters[:at],
            cache_size=analyzer.cache_size,
        )
        tail = Analyzer(
            tokenizer=analyzer.tokenizer,
            filters=analyzer.filters[at:],
            cache_size=analyzer.cache_size,
        )
        split = InflectionSplit(surfaces=head, stems=tail)
    _SPLITS[analyzer] = split
    return split
