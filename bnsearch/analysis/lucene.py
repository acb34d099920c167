"""A Lucene-compatible Bengali chain, for users migrating from Elasticsearch's ``bengali``.

:func:`lucene_bengali_analyzer` reproduces the terms of Lucene's ``BengaliAnalyzer`` (the
analyzer behind Elasticsearch's and OpenSearch's ``bengali``), so an index built by
bnsearch with it answers queries the way the old cluster did::

    ICU words | lowercase | decimal digits | Indic normalization | Bengali normalization
              | stopwords | Bengali stemmer

Each step is a term filter of the same kind as the default chain's, so it composes with
``|`` and can be taken apart with :meth:`~bnsearch.analysis.pipeline.Analyzer.without`.
``analyzer.normalize(word)`` runs the four normalize-stage steps and nothing else, which is
what Lucene's ``Analyzer.normalize()`` does for prefix, wildcard and fuzzy terms.

This chain is *not* recommended for new indexes: its normalizer merges words that Bengali
readers keep apart (জন্য = জন, বাড়ি = বার) and its stemmer cuts noun stems (পুলিশ -> পুল,
নেতা -> নে); see ``research/lucene-bengali.md`` §6. Use it when results must match an
existing Elasticsearch deployment. Lucene's quirks are kept on purpose: the dead ক্ষ rule,
ঙ -> ং even inside ঙ্গ (a dangling virama), reph + ব read as ba-phala (নির্বাচন -> নিররাচন),
the doubled e-kar of জ্যেষ্ঠ, the one-suffix stemmer with its ``len > k + 1`` guard
counted in UTF-16 units (Bengali is all in the BMP, so ``len(str)`` is the same number).

Where it differs from Lucene:

* **Tokenizer.** bnsearch's ICU word breaks instead of Lucene's ``StandardTokenizer``.
  Both follow UAX #29 and split Bengali the same way (danda, hyphens and quotes end a
  word; ``১৫টি`` stays one word); symbols and emoji, which ``StandardTokenizer`` may emit
  as tokens, are dropped here. Lucene's 255-character token limit is not applied.
* **Lowercasing** uses Python's ``str.lower`` (full case mapping) where Java lowercases
  one code point at a time; they differ only for a few characters such as ``İ``.
* **Stopwords.** Lucene's list (Savoy's, 116 words) is not shipped. The default is
  bnsearch's own :data:`~bnsearch.analysis.stopwords.BENGALI_STOPWORDS`, treated the Lucene
  way: entries are written with precomposed nukta letters, as Lucene's ``stopwords.txt``
  is, and compared with the *normalized* term without being normalized themselves. So,
  exactly as in Lucene, an entry that the Bengali normalizer rewrites can never match.
  In the default list these are the 9 entries of :data:`DEAD_DEFAULT_STOPWORDS`: four of
  them are still dropped because their normalized form is another entry (তাঁর -> তার,
  তাঁরা, তাঁদের, কী -> কি), while সঙ্গে, মধ্যে, জন্য, দ্বারা and কীভাবে stay in the index
  (as সং্গ, মধ, জন, দা, কিভা). Pass ``stopwords=`` your cluster's own list to reproduce
  its behaviour; pass ``stopwords=[analyzer.normalize(w) for w in words]`` for a list
  with no dead entries.
* **Stem exclusion** (Elasticsearch ``stem_exclusion``): entries are normalized with the
  normalize stage and compared with the term that reaches the stemmer, so both raw and
  normalized spellings work (Lucene's built-in analyzer wants raw spellings, OpenSearch's
  rebuilt-as-custom recipe normalized ones).
* A term that normalizes to nothing (a lone ঁ) is dropped; Lucene would keep an empty term.

Attribution: rule tables after Apache Lucene's ``IndicNormalizer``, ``BengaliNormalizer``,
``BengaliStemmer`` and ``DecimalDigitFilter`` (Apache License 2.0, The Apache Software
Foundation), re-implemented here from the rule descriptions in bnsearch's research notes;
no Lucene source code is included. Lucene's normalizer cites UzZaman & Khan's double
metaphone for Bangla, its stemmer Sengupta & Chaudhuri and Jacques Savoy's light stemmer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import attrs

from bnsearch.analysis.normalize import fold_digits
from bnsearch.analysis.pipeline import Analyzer, IcuWordTokenizer, TermFilter, WordMap
from bnsearch.analysis.stopwords import BENGALI_STOPWORDS

__all__ = [
    "DEAD_DEFAULT_STOPWORDS",
    "INDIC_NORMALIZATION",
    "LUCENE_BENGALI_NORMALIZATION",
    "LUCENE_DIGITS",
    "LUCENE_LOWERCASE",
    "LUCENE_SUFFIX_GROUPS",
    "LuceneBengaliStemmer",
    "LuceneStopFilter",
    "indic_normalize",
    "lucene_bengali_analyzer",
    "lucene_bengali_normalize",
    "lucene_bengali_stem",
]

# -- code points -----------------------------------------------------------------------
_ZWJ = "\u200d"
_CHANDRABINDU = "\u0981"
_ANUSVARA = "\u0982"
_VISARGA = "\u0983"
_KA, _KHA, _NGA = "\u0995", "\u0996", "\u0999"
_TA, _NA, _NNA = "\u09a4", "\u09a8", "\u09a3"
_BA, _YA, _RA = "\u09ac", "\u09af", "\u09b0"
_SHA, _SSA, _SA, _HA = "\u09b6", "\u09b7", "\u09b8", "\u09b9"
_NUKTA = "\u09bc"
_AA_SIGN, _I_SIGN, _II_SIGN = "\u09be", "\u09bf", "\u09c0"
_U_SIGN, _UU_SIGN, _E_SIGN = "\u09c1", "\u09c2", "\u09c7"
_O_SIGN, _AU_SIGN, _AU_LENGTH = "\u09cb", "\u09cc", "\u09d7"
_VIRAMA = "\u09cd"
_KHANDA_TA = "\u09ce"
_RRA, _RHA, _YYA = "\u09dc", "\u09dd", "\u09df"


# -- LowerCaseFilter and DecimalDigitFilter ----------------------------------------------
#: Filter: lowercase (Lucene ``LowerCaseFilter``); Bengali has no case.
LUCENE_LOWERCASE = WordMap("lucene-lowercase-v1", "normalize", str.lower)


#: Filter: every non-ASCII decimal digit becomes ASCII (Lucene ``DecimalDigitFilter``).
LUCENE_DIGITS = WordMap("lucene-decimal-digit-v1", "normalize", fold_digits)


# -- IndicNormalizer, Bengali rows ---------------------------------------------------------
#: (sequence, composed character). Lucene scans left to right and composes a row where it
#: starts, never re-examining the result. No row's later characters can start a row and no
#: composed character can start or continue one, so replacing each sequence in turn gives
#: the same result as that scan.
_INDIC_ROWS: tuple[tuple[str, str], ...] = (
    ("\u0985" + _AA_SIGN, "\u0986"),  # অ + া -> আ
    ("\u09a1" + _NUKTA, _RRA),  # ড + ় -> ড়
    ("\u09a2" + _NUKTA, _RHA),  # ঢ + ় -> ঢ়
    (_YA + _NUKTA, _YYA),  # য + ় -> য়
    (_TA + _VIRAMA + _ZWJ, _KHANDA_TA),  # ত + ্ + ZWJ -> ৎ
    (_E_SIGN + _AA_SIGN, _O_SIGN),  # ে + া -> ো
    (_E_SIGN + _AU_LENGTH, _AU_SIGN),  # ে + ৗ -> ৌ
)


def indic_normalize(term: str) -> str:
    """Compose what Lucene's ``IndicNormalizer`` composes for Bengali.

    Nukta letters become precomposed (ড় U+09DC, ঢ় U+09DD, য় U+09DF), split vowel signs
    are joined, ``ত্`` + ZWJ becomes ৎ and অ + া becomes আ. ZWJ and ZWNJ are otherwise kept.
    """
    for sequence, composed in _INDIC_ROWS:
        if sequence in term:
            term = term.replace(sequence, composed)
    return term


#: Filter: :func:`indic_normalize` (Lucene ``IndicNormalizationFilter``).
INDIC_NORMALIZATION = WordMap("lucene-indic-normalization-v1", "normalize", indic_normalize)


# -- BengaliNormalizer -----------------------------------------------------------------------
#: The rules that look only at the character itself (2, 3, 5, 9, 10, 11, 12).
_SIMPLE_RULES = str.maketrans(
    {
        _II_SIGN: _I_SIGN,
        _UU_SIGN: _U_SIGN,
        _NGA: _ANUSVARA,
        _SHA: _SA,
        _SSA: _SA,
        _NNA: _NA,
        _RRA: _RA,
        _RHA: _RA,
        _KHANDA_TA: _TA,
    }
)
#: Anything that can make a rule look at its neighbours or delete a character.
_CONTEXT_TRIGGERS = (_CHANDRABINDU, _VISARGA, _VIRAMA + _YA, _VIRAMA + _BA, _KA + _VIRAMA + _I_SIGN)


def lucene_bengali_normalize(term: str) -> str:
    """Apply the rules of Lucene's ``BengaliNormalizer`` to one term.

    One left-to-right pass; after a deletion the character that moved into place is looked
    at next (except after a ba-phala gemination, whose copy is not). The rules, numbered as
    in the research note: 1 ঁ deleted; 2 ী -> ি; 3 ূ -> ু; 4 ক + ্ + ি -> খ (Lucene's ক্ষ
    rule, which compares with ি instead of ষ and so never fires on real text); 5 ঙ -> ং;
    6 ya-phala: word-initial ``C্য(া)`` -> ``Cে``, elsewhere ্য deleted; 7 ba-phala:
    word-initial or after a conjunct deleted, otherwise the consonant before it doubled;
    8 visarga: final -> হ in words of up to 3 characters, else deleted; mid-word it copies
    the next character; 9 শ ষ -> স; 10 ণ -> ন; 11 ড় ঢ় (precomposed) -> র; 12 ৎ -> ত.

    >>> lucene_bengali_normalize("বাঙলা"), lucene_bengali_normalize("দুঃখ")
    ('বাংলা', 'দুখখ')
    """
    for trigger in _CONTEXT_TRIGGERS:
        if trigger in term:
            return _normalize_in_context(term)
    # no rule can delete or look at a neighbour: a per-character table says it all
    return term.translate(_SIMPLE_RULES)


def _normalize_in_context(term: str) -> str:
    s = list(term)
    i = 0
    while i < len(s):
        char = s[i]
        if char == _CHANDRABINDU:  # rule 1
            del s[i]
            continue
        if char == _KA:  # rule 4 (dead on real text, kept for fidelity)
            if i + 2 < len(s) and s[i + 1] == _VIRAMA and s[i + 2] == _I_SIGN:
                if i == 0:
                    s[0] = _KHA
                    del s[1:3]
                else:
                    s[i + 1] = _KHA
                    del s[i + 2]
        elif char == _YA and i >= 1 and s[i - 1] == _VIRAMA:  # rule 6
            if i == 2:
                s[1] = _E_SIGN
                if i + 1 < len(s) and s[i + 1] == _AA_SIGN:
                    del s[i + 1]
                del s[i]
                continue
            del s[i - 1 : i + 1]
            i -= 1
            continue
        elif char == _BA and i >= 2 and s[i - 1] == _VIRAMA:  # rule 7
            if i == 2:
                del s[1:3]
                i = 1
                continue
            if i >= 5 and s[i - 3] == _VIRAMA:
                del s[i - 1 : i + 1]
                i -= 1
                continue
            s[i - 1] = s[i - 2]
            del s[i]
            continue
        elif char == _VISARGA:  # rule 8
            if i == len(s) - 1:
                if len(s) <= 3:
                    s[i] = _HA
                else:
                    del s[i]
            else:
                s[i] = s[i + 1]
        else:
            s[i] = char.translate(_SIMPLE_RULES)
        i += 1
    return "".join(s)


#: Filter: :func:`lucene_bengali_normalize` (Lucene ``BengaliNormalizationFilter``).
LUCENE_BENGALI_NORMALIZATION = WordMap(
    "lucene-bengali-normalization-v1", "normalize", lucene_bengali_normalize
)


# -- StopFilter --------------------------------------------------------------------------------
def _lucene_list_form(word: str) -> str:
    """A word as Lucene's word lists are written: lowercase, ASCII digits, precomposed nuktas."""
    return indic_normalize(fold_digits(word.lower()))


def _lucene_list(words: Iterable[str]) -> frozenset[str]:
    return frozenset(filter(None, map(_lucene_list_form, words)))


def _digest(words: Iterable[str]) -> str:
    return hashlib.sha1("\n".join(sorted(words)).encode("utf-8")).hexdigest()[:10]


@attrs.frozen
class LuceneStopFilter:
    """Filter: drop the listed words, compared with the normalized term (Lucene ``StopFilter``).

    Entries are only brought into the encoding of Lucene's lists (lowercase, ASCII digits,
    precomposed nukta letters), not normalized, so entries the Bengali normalizer rewrites
    never match, as in Lucene. Dropped words keep their positions.
    """

    words: frozenset[str] = attrs.field(default=BENGALI_STOPWORDS, converter=_lucene_list)
    stage: str = "stop"

    @property
    def name(self) -> str:
        return f"lucene-stop-{len(self.words)}-{_digest(self.words)}"

    def __call__(self, term: str) -> str | None:
        return None if term in self.words else term


def _dead_entries(words: Iterable[str]) -> frozenset[str]:
    listed = {_lucene_list_form(word) for word in words}
    return frozenset(word for word in listed if word and lucene_bengali_normalize(word) != word)


#: Entries of the default stopword list that the Lucene chain can never drop, because the
#: Bengali normalizer rewrites the word before the stop filter sees it (Lucene's flaw).
DEAD_DEFAULT_STOPWORDS: frozenset[str] = _dead_entries(BENGALI_STOPWORDS)


# -- BengaliStemmer ----------------------------------------------------------------------------
#: Lucene's suffixes, longest group first, in source order within a group. Written here
#: with decomposed nukta letters for readability; composed to য় U+09DF when the table is
#: built, since Lucene's table (and the terms reaching it after Indic normalization) use
#: the precomposed letter.
_SUFFIX_LINES = """
িয়াছিলাম িতেছিলাম িতেছিলেন ইতেছিলেন িয়াছিলেন ইয়াছিলেন
িতেছিলি িতেছিলে িয়াছিলা িয়াছিলে িতেছিলা িয়াছিলি য়েদেরকে
িতেছিস িতেছেন িয়াছিস িয়াছেন েছিলাম েছিলেন েদেরকে
িতেছি িতেছা িতেছে ছিলাম ছিলেন িয়াছি িয়াছা িয়াছে েছিলে েছিলা য়েদের দেরকে
িলাম িলেন িতাম িতেন িবেন ছিলি ছিলে ছিলা তেছে িতেছ খানা খানি গুলো গুলি য়েরা েদের
লাম িলি ইলি িলে ইলে লেন িলা ইলা তাম িতি ইতি িতে ইতে তেন িতা িবা ইবা িবি ইবি বেন িবে ইবে ছেন য়োন য়ের েরা দের
িস েন লি লে লা তি তে তা বি বে বা ছি ছা ছে ুন ুক টা টি নি ের তে রা কে
ি ী া ো ে ব ত
"""

#: The suffix strings in Lucene's order (105 of them, তে twice), grouped by length.
LUCENE_SUFFIX_GROUPS: tuple[tuple[str, ...], ...] = tuple(
    tuple(indic_normalize(suffix) for suffix in line.split())
    for line in _SUFFIX_LINES.strip().splitlines()
)

#: (suffix length k, suffixes of that length), longest first.
_STEM_TABLE: tuple[tuple[int, frozenset[str]], ...] = tuple(
    (len(group[0]), frozenset(group)) for group in LUCENE_SUFFIX_GROUPS
)


def lucene_bengali_stem(term: str) -> str:
    """Strip one suffix the way Lucene's ``BengaliStemmer`` does.

    Suffix groups are tried from 8 characters down to 1; the first group with a matching
    suffix wins. A suffix of length ``k`` is cut only from a term longer than ``k + 1``.

    >>> lucene_bengali_stem("পুলিস"), lucene_bengali_stem("বৈঠকে")
    ('পুল', 'বৈঠ')
    """
    size = len(term)
    for cut, suffixes in _STEM_TABLE:
        if size > cut + 1 and term[-cut:] in suffixes:
            return term[:-cut]
    return term


def _exclusion_set(words: Iterable[str]) -> frozenset[str]:
    normalized = (lucene_bengali_normalize(_lucene_list_form(word)) for word in words)
    return frozenset(filter(None, normalized))


@attrs.frozen
class LuceneBengaliStemmer:
    """Filter: :func:`lucene_bengali_stem`, except for the ``exclusions``.

    ``exclusions`` (Elasticsearch's ``stem_exclusion``) are normalized on the way in, so
    raw and normalized spellings both work.
    """

    exclusions: frozenset[str] = attrs.field(default=frozenset(), converter=_exclusion_set)
    stage: str = "stem"

    @property
    def name(self) -> str:
        if not self.exclusions:
            return "lucene-bengali-stem-v1"
        count, digest = len(self.exclusions), _digest(self.exclusions)
        return f"lucene-bengali-stem-v1(exclusions={count}-{digest})"

    def __call__(self, term: str) -> str | None:
        if term in self.exclusions:
            return term
        return lucene_bengali_stem(term)


# -- the analyzer ----------------------------------------------------------------------------
def lucene_bengali_analyzer(
    *,
    stopwords: Iterable[str] | None = BENGALI_STOPWORDS,
    stem_exclusion: Iterable[str] = (),
) -> Analyzer:
    """An analyzer producing the terms of Lucene's (and Elasticsearch's) ``bengali``.

    Args:
        stopwords: words to drop, compared the Lucene way (see the module docstring);
            ``None`` keeps every word. The default is bnsearch's list, not Lucene's.
        stem_exclusion: words never stemmed.

    >>> lucene_bengali_analyzer(stopwords=None).terms("নম্বরগুলি ১২৩৪৫৬।")
    ['নমমর', '123456']
    """
    filters: list[TermFilter] = [
        LUCENE_LOWERCASE,
        LUCENE_DIGITS,
        INDIC_NORMALIZATION,
        LUCENE_BENGALI_NORMALIZATION,
    ]
    if stopwords is not None:
        filters.append(LuceneStopFilter(words=frozenset(stopwords)))
    filters.append(LuceneBengaliStemmer(exclusions=frozenset(stem_exclusion)))
    return Analyzer(tokenizer=IcuWordTokenizer(), filters=tuple(filters))
