"""Did-you-mean and autocomplete, from the index's own term dictionary.

*Did you mean* looks at each query word on its own and leaves it alone when

* the analyzer drops it (a stopword) or it is not Bengali (``dhaka`` is never turned into
  an English-looking term: Latin words are for romanized search, see :mod:`.romanize`);
* its term is in the dictionary: the word, or an inflection of an indexed stem
  (``রোজার`` stays when ``রোজা`` is indexed), is taken as spelled on purpose, however
  rare, so a correct word is never replaced.

A word the index does not know is compared with spellings it does know, by
:func:`.spelling.slip_distance` (a confusable letter, ি/ী, শ/স/ষ, ন/ণ ..., costs
:data:`.spelling.CHEAP`; any other edit 1). Candidates come from two places: the word
with one confusable letter swapped (re-analyzed, so a slip inside an ending is caught
too: ``বাংলাদেশের`` for ``বাংলাদেষের``), and the dictionary terms within one or two letter
edits of the word's term (:meth:`.fuzzy.TermDictionary.fuzzy`), with the ending the user
typed kept. The best candidate has the lowest ``cost - FREQUENCY_WEIGHT * ln(1 + df)``;
it replaces the word only when its cost is within :func:`_allowed` of the term's length
(a short word takes only a confusable swap).

*Autocomplete*: the last (possibly half-typed) word is normalized (no stemming, so
``প্র`` stays ``প্র``) and completed with the most frequent dictionary terms that start
with it. The dictionary holds stems, so completions are stems.
"""

from __future__ import annotations

import math
import re
import unicodedata

from bnsearch.analysis import Analyzer
from bnsearch.analysis.pipeline import leading_marks
from bnsearch.search.fuzzy import TermDictionary
from bnsearch.search.spelling import (
    CHEAP,
    VOWEL,
    confusable_variants,
    slip_distance,
    spelling_units,
    vowel_variants,
)

#: How much a candidate's document frequency counts against its edit cost (per unit of
#: ``ln(1 + df)``): a confusable swap (cost 0.25) to a word in 1 document still beats a
#: full edit (cost 1) to a word in 1,000.
FREQUENCY_WEIGHT = 0.08
#: Words looked at in one query (the rest are kept as typed).
MAX_WORDS = 64
_BENGALI = re.compile("[\u0980-\u09ff]")


def _allowed(letters: int) -> float:
    """The largest edit cost a correction of a term of ``letters`` letters may have.

    A term of four letters or fewer takes confusable swaps only: one other edit turns
    most short words into another real word (কতদিন and কদিন, কতজন and সাতজন).
    """
    if letters <= 4:
        return VOWEL
    if letters <= 6:
        return 1.0
    return 1.0 + 2 * CHEAP


def _is_mark(char: str) -> bool:
    return unicodedata.category(char) in ("Mn", "Mc", "Me")


def _best_replacement(word: str, analyzer: Analyzer, dictionary: TermDictionary) -> str | None:
    """The corrected spelling of one word (normalized), or None to keep it."""
    if not _BENGALI.search(word):
        return None
    term = analyzer.term(word)
    if term is None or term in dictionary:
        return None
    normalized = analyzer.normalize(word)
    term_units = spelling_units(term)
    limit = _allowed(len(term_units))
    best: tuple[float, str] | None = None

    def consider(spelling: str, cost: float, found: str) -> None:
        nonlocal best
        if cost > limit:
            return
        rank = cost - FREQUENCY_WEIGHT * math.log1p(dictionary.doc_freq(found))
        if best is None or (rank, spelling) < best:
            best = (rank, spelling)

    swaps = confusable_variants(normalized)
    for variant, found in zip(swaps, analyzer.filter_words(swaps), strict=True):
        if found is not None and found in dictionary:
            consider(variant, CHEAP, found)
    # a vowel sign added or dropped must land inside the stem: a sign that only makes an
    # ending (নিতেন -> নিতেনি, stem নিত) would turn a word into another
    signs = vowel_variants(normalized)
    spellings = [variant for variant, _ in signs]
    for (variant, at), found in zip(signs, analyzer.filter_words(spellings), strict=True):
        if (
            found is not None
            and at < len(found)
            and variant.startswith(found)
            and found in dictionary
        ):
            consider(variant, VOWEL, found)
    if best is not None or limit < 1:  # a one-letter slip explains the word, or the
        return None if best is None else best[1]  # word is too short for other edits
    distance = 1 if len(term_units) <= 6 else 2
    kept = normalized[len(term) :] if normalized.startswith(term) else ""
    # an ending that starts with a vowel sign (থেকে cut as থ + েকে) fits only a stem
    # that ends in a bare consonant
    bare_end = bool(kept) and _is_mark(kept[0])
    for candidate, _ in dictionary.fuzzy(term, distance, limit=30):
        if bare_end and _is_mark(candidate[-1]):
            continue
        cost = slip_distance(term_units, spelling_units(candidate), limit)
        consider(candidate + kept, cost, candidate)
    return None if best is None else best[1]


def did_you_mean(query: str, dictionary: TermDictionary, analyzer: Analyzer) -> str | None:
    """The query with misspelled words replaced, or None if nothing needs changing."""
    if not isinstance(query, str) or not dictionary.terms:
        return None
    chunks = query.split()
    changed = False
    out: list[str] = []
    for chunk in chunks[:MAX_WORDS]:
        fixed_chunk = chunk
        for start, end in reversed(analyzer.tokenizer.spans(chunk)):
            fixed = _best_replacement(chunk[start:end], analyzer, dictionary)
            if fixed is not None:
                fixed_chunk = fixed_chunk[:start] + fixed + fixed_chunk[end:]
        if fixed_chunk != chunk:  # a corrected chunk drops what no word starts with, as
            fixed_chunk = fixed_chunk[leading_marks(fixed_chunk) :]  # the tokenizer does
        changed = changed or fixed_chunk != chunk
        out.append(fixed_chunk)
    if not changed:
        return None
    return " ".join(out + chunks[MAX_WORDS:])


def complete_query(
    text: str, dictionary: TermDictionary, analyzer: Analyzer, *, limit: int = 8
) -> list[str]:
    """Completions of ``text``: the text with its last word completed, best first."""
    if not isinstance(text, str) or limit <= 0:
        return []
    stripped = text.rstrip()
    if not stripped or stripped != text:  # nothing typed, or the last word is finished
        return []
    head, _, last = stripped.rpartition(" ")
    spans = analyzer.tokenizer.spans(last)
    if not spans:
        return []
    start, end = spans[-1]
    prefix = analyzer.normalize(last[start:end])
    if not prefix:
        return []
    keep = (head + " " if head else "") + last[:start]
    return [keep + term for term in dictionary.top_prefixed(prefix, limit)]
