"""Bengali spelling slips: the letters readers confuse, a key that folds them, and an edit
distance that charges little for them.

Bengali writers most often slip between letters that sound alike (see
``docs/relevance.md``, "Spelling"): the long and short vowels ি/ী and ু/ূ (and their
independent forms), the sibilants শ/স/ষ, the nasals ন/ণ, জ/য, র/ড়, and the anusvara ং
against ঙ. :data:`CONFUSIONS` lists those groups once; everything here derives from it:

* :func:`spelling_key` folds every letter of a group to the group's first letter, so
  ``নির্বাচন`` and ``নিরবাচণ`` differ only where the letters are not confusable;
* :func:`spelling_units` cuts a word into letters (a base character with its vowel signs,
  nukta and virama, as :func:`.fuzzy.letters`), except that the anusvara, visarga and
  chandrabindu stand alone, so ং and ঙ are one substitution apart;
* :func:`slip_distance` is the edit distance over those letters where a substitution that
  only swaps confusable letters costs :data:`CHEAP` instead of 1.

:class:`SpellingIndex` tells which spellings of a word (same :func:`spelling_key`) a
field holds: the compiler's folded-spelling match (``BM25FParams.spelling``) reads a
query word's other spellings from it, and :mod:`.suggest` (did-you-mean) uses the
distance and the variants. The analysis chain's own loose folding
(:mod:`bnsearch.analysis.loose`, an index-time field option) is a narrower fold kept
apart, because changing it would change the terms of indexes already written.
"""

from __future__ import annotations

import itertools
import threading
import unicodedata
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from bnsearch.search.fuzzy import TermDictionary

if TYPE_CHECKING:
    from bnsearch.index.segment import SegmentReader

#: Groups of letters (normalized code points) a slip swaps for one another. ড় is ড plus
#: the nukta after normalization (see :mod:`bnsearch.analysis.normalize`).
CONFUSIONS: tuple[tuple[str, ...], ...] = (
    ("ি", "ী"),
    ("ই", "ঈ"),
    ("ু", "ূ"),
    ("উ", "ঊ"),
    ("স", "শ", "ষ"),
    ("ন", "ণ"),
    ("জ", "য"),
    ("র", "ড\u09bc"),
    ("ঙ", "ং"),
)
#: What a substitution of one confusable letter for another costs (any other edit: 1).
CHEAP = 0.25
#: What adding or dropping the vowel sign of a letter costs (রোজর for রোজার); changing
#: one sign for another costs 1.
VOWEL = 0.5
#: The dependent vowel signs (a letter carries at most one).
VOWEL_SIGNS = "\u09be\u09bf\u09c0\u09c1\u09c2\u09c3\u09c7\u09c8\u09cb\u09cc"

_FOLD: dict[str, str] = {
    member: group[0] for group in CONFUSIONS for member in group if member != group[0]
}
_FOLD_TABLE = str.maketrans({k: v for k, v in _FOLD.items() if len(k) == 1})
_MULTI = tuple((k, v) for k, v in _FOLD.items() if len(k) > 1)
_MARK_CATEGORIES = frozenset({"Mn", "Mc", "Me"})
#: Signs that stand alone as letters in :func:`spelling_units` (anusvara, visarga,
#: chandrabindu): ং must line up against ঙ.
_STANDALONE = frozenset("\u0981\u0982\u0983")


def spelling_key(word: str) -> str:
    """``word`` with every confusable letter folded to its group's first letter."""
    for old, new in _MULTI:
        if old in word:
            word = word.replace(old, new)
    return word.translate(_FOLD_TABLE)


def spelling_units(word: str) -> tuple[str, ...]:
    """``word`` cut into letters: a base with its following marks (ং ঃ ঁ stand alone)."""
    units: list[str] = []
    for char in word:
        if units and char not in _STANDALONE and unicodedata.category(char) in _MARK_CATEGORIES:
            units[-1] += char
        else:
            units.append(char)
    return tuple(units)


def _substitution(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if spelling_key(a) == spelling_key(b):
        return CHEAP
    if a[0] == b[0] and (a == b[0] or b == a[0]) and a.rstrip(VOWEL_SIGNS) == b.rstrip(VOWEL_SIGNS):
        return VOWEL  # the same letter with and without a vowel sign
    return 1.0


def slip_distance(a: Sequence[str], b: Sequence[str], limit: float | None = None) -> float:
    """Weighted edit distance between two letter sequences (:func:`spelling_units`).

    Insertions and deletions cost 1, a substitution 1, :data:`CHEAP` when the two
    letters differ only by confusable letters (``নি`` for ``ণী``), :data:`VOWEL` when
    one has a vowel sign the other lacks (``জ`` for ``জা``). With ``limit``, stop
    early and return a value above it once the distance must exceed it.
    """
    previous = [float(j) for j in range(len(b) + 1)]
    for i, char_a in enumerate(a, 1):
        current = [float(i)]
        best = float(i)
        for j, char_b in enumerate(b, 1):
            cost = min(
                previous[j] + 1.0,
                current[j - 1] + 1.0,
                previous[j - 1] + _substitution(char_a, char_b),
            )
            current.append(cost)
            best = min(best, cost)
        if limit is not None and best > limit:
            return best
        previous = current
    return previous[-1]


def confusable_variants(word: str) -> list[str]:
    """Every spelling of ``word`` with one confusable letter swapped for another of its
    group (``রোজার`` -> ``ড়োজার``, ``রোজাড়``, ``রোযার``, ...)."""
    out: list[str] = []
    for group in CONFUSIONS:
        for member in group:
            start = word.find(member)
            while start >= 0:
                end = start + len(member)
                # ড is not র's partner unless the nukta follows it; র is never followed
                # by a nukta, so a one-letter member matches only itself
                if not (len(member) == 1 and word[end : end + 1] == "\u09bc"):
                    for other in group:
                        if other != member:
                            out.append(word[:start] + other + word[end:])
                start = word.find(member, start + 1)
    return out


def vowel_variants(word: str) -> list[tuple[str, int]]:
    """Every spelling of ``word`` with a vowel sign added to one bare consonant or one
    vowel sign dropped (``রোজর`` -> ``রোজার``, ``রোজরে``...), with where the edit is
    (an index into the variant). Changing one sign for another is a full edit."""
    out: list[tuple[str, int]] = []
    for i, char in enumerate(word):
        if not ("\u0995" <= char <= "\u09b9"):  # a consonant carries the sign
            continue
        j = i + 1
        if word[j : j + 1] == "\u09bc":  # its nukta
            j += 1
        if word[j : j + 1] == "\u09cd":  # a conjunct's first half takes no vowel
            continue
        if word[j : j + 1] and word[j] in VOWEL_SIGNS:
            out.append((word[:j] + word[j + 1 :], j))
        elif not (word[j : j + 1] and unicodedata.category(word[j]) in _MARK_CATEGORIES):
            out.extend((word[:j] + sign + word[j:], j) for sign in VOWEL_SIGNS)
    return out


#: Per confusable letter (normalized), its group.
_GROUP_OF: dict[str, tuple[str, ...]] = {member: group for group in CONFUSIONS for member in group}
#: Above this many spellings of one word, :class:`SpellingIndex` reads them from its
#: grouped dictionary instead of looking each up.
MAX_SPELLINGS = 256
#: Words whose spellings a :class:`SpellingIndex` remembers (then it starts afresh).
REMEMBERED_WORDS = 65_536


def _alternatives(term: str) -> list[tuple[str, ...]]:
    """``term`` as a sequence of letter choices: a confusable letter's group, or itself."""
    out: list[tuple[str, ...]] = []
    i = 0
    while i < len(term):
        two = term[i : i + 2]
        if two in _GROUP_OF:  # ড়
            out.append(_GROUP_OF[two])
            i += 2
        elif two[1:] == "\u09bc":  # another nukta letter (য়, ঢ়): no partner
            out.append((two,))
            i += 2
        else:
            out.append(_GROUP_OF.get(term[i], (term[i],)))
            i += 1
    return out


class TermSource:
    """The terms of one field of one segment (or of one dictionary): their set, and the
    same terms grouped by :func:`spelling_key` (built on first need). A segment's terms
    never change, so one is built per segment and field (:func:`segment_terms`) and
    shared by every reader of it."""

    __slots__ = ("_groups", "terms")

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms: frozenset[str] = frozenset(terms)
        self._groups: dict[str, tuple[str, ...]] | None = None

    def groups(self) -> dict[str, tuple[str, ...]]:
        """The terms by :func:`spelling_key`, each group sorted."""
        groups = self._groups
        if groups is None:  # two threads may both build it: the same dict either way
            lists: dict[str, list[str]] = {}
            for term in sorted(self.terms):
                lists.setdefault(spelling_key(term), []).append(term)
            groups = self._groups = {key: tuple(group) for key, group in lists.items()}
        return groups


#: Per segment's arrays (:attr:`SegmentReader.arrays_key`, shared by the readers of one
#: segment whatever their deletions) and field: the terms list a source was built from
#: (an anchor field's list changes with the segment's anchor updates) and the source.
_SEGMENT_SOURCES: weakref.WeakKeyDictionary[Any, dict[str, tuple[list[str], TermSource]]] = (
    weakref.WeakKeyDictionary()
)
_SOURCES_LOCK = threading.Lock()


def segment_terms(segment: SegmentReader, field: str) -> TermSource:
    """The :class:`TermSource` of a segment's field, built once per segment (a reader
    refreshed after a commit builds only its new segments')."""
    terms = segment.terms(field)
    with _SOURCES_LOCK:
        kept = _SEGMENT_SOURCES.get(segment.arrays_key)
        found = None if kept is None else kept.get(field)
    if found is not None and found[0] is terms:
        return found[1]
    source = TermSource(terms)
    with _SOURCES_LOCK:
        _SEGMENT_SOURCES.setdefault(segment.arrays_key, {})[field] = (terms, source)
    return source


class SpellingIndex:
    """The terms of one field, for the folded-spelling match: which of a word's
    spellings the index holds.

    A word's other spellings are looked up one by one in the terms' sets (a few dozen
    for most words); a word with more than :data:`MAX_SPELLINGS` reads them from the terms
    grouped by :func:`spelling_key` (built on first such word: 0.2 s for 44,000 terms).
    ``sources`` gives the terms: one :class:`TermSource` per segment (:func:`segment_terms`,
    kept with the segment, so a refreshed reader builds only its new segments'), or one
    of a dictionary; they are read on first use and never merged (a word is looked up in
    each: a few dozen segments cost microseconds a word, remembered per word).
    """

    def __init__(self, sources: Callable[[], Iterable[TermSource]]) -> None:
        self._make_sources = sources
        self._sources: tuple[TermSource, ...] | None = None
        self._sets: tuple[frozenset[str], ...] = ()
        self._lock = threading.Lock()
        self._found: dict[str, tuple[str, ...]] = {}  # remembered: query words come back

    @classmethod
    def of(cls, dictionary: TermDictionary) -> SpellingIndex:
        """The spelling index of a term dictionary's terms."""
        return cls(lambda: [TermSource(dictionary.terms)])

    def _all(self) -> tuple[TermSource, ...]:
        with self._lock:
            if self._sources is None:
                sources = tuple(self._make_sources())
                self._sets = tuple(source.terms for source in sources)
                self._sources = sources
            return self._sources

    def _term_sets(self) -> tuple[frozenset[str], ...]:
        if self._sources is None:
            self._all()
        return self._sets

    def has(self, term: str) -> bool:
        """Whether the field holds ``term``."""
        return any(term in terms for terms in self._term_sets())

    def group(self, key: str) -> tuple[str, ...]:
        """The field's terms whose :func:`spelling_key` is ``key``, sorted."""
        sources = self._all()
        if len(sources) == 1:
            return sources[0].groups().get(key, ())
        found: set[str] = set()
        for source in sources:
            found.update(source.groups().get(key, ()))
        return tuple(sorted(found))

    def variants(self, term: str) -> tuple[str, ...]:
        """The field's terms spelled like ``term`` up to confusable letters, other than
        ``term`` itself (``নির্বাচণ`` -> ``নির্বাচন``)."""
        found = self._found.get(term)
        if found is None:
            if len(self._found) >= REMEMBERED_WORDS:
                self._found.clear()
            found = self._found[term] = self._variants(term)
        return found

    def _variants(self, term: str) -> tuple[str, ...]:
        choices = _alternatives(term)
        count = 1
        for choice in choices:
            count *= len(choice)
        if count > MAX_SPELLINGS:
            return tuple(t for t in self.group(spelling_key(term)) if t != term)
        if count == 1:
            return ()
        sets = self._term_sets()
        return tuple(
            spelled
            for spelled in map("".join, itertools.product(*choices))
            if spelled != term and any(spelled in terms for terms in sets)
        )
