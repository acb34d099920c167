"""Did-you-mean and autocomplete, from the index's own term dictionary.

*Did you mean*: each query word whose term is rare or absent in the index is compared,
in letters (see :mod:`.fuzzy`), with the dictionary; a term within two edits that is
clearly more frequent replaces it. The suffix the user typed is kept: ``বাংলাদেষের``
becomes ``বাংলাদেশের`` because the dictionary holds the stem ``বাংলাদেশ``.

*Autocomplete*: the last (possibly half-typed) word is normalized (no stemming, so
``প্র`` stays ``প্র``) and completed with the most frequent dictionary terms that start
with it. The dictionary holds stems, so completions are stems.
"""

from __future__ import annotations

from bnsearch.analysis import Analyzer
from bnsearch.search.fuzzy import TermDictionary

#: A replacement must be this many times more frequent than a word the index knows (a
#: word it does not know is replaced by any known word close enough).
MIN_GAIN = 3


def _best_replacement(word: str, analyzer: Analyzer, dictionary: TermDictionary) -> str | None:
    """The corrected spelling of one word, or None to keep it."""
    term = analyzer.term(word)
    if term is None:  # a stopword or nothing searchable: leave it
        return None
    current = dictionary.doc_freq(term)
    normalized = analyzer.normalize(word)
    candidates = dictionary.fuzzy(term, 2, limit=20)
    best: tuple[int, int, str] | None = None
    for candidate, edits in candidates:
        if candidate == term:
            continue
        freq = dictionary.doc_freq(candidate)
        if current and freq < current * MIN_GAIN:
            continue
        rank = (edits, -freq, candidate)
        if best is None or rank < best:
            best = rank
    if best is None:
        return None
    replacement = best[2]
    # keep the inflection the user typed: swap the stem inside the normalized word
    if normalized.startswith(term):
        return replacement + normalized[len(term) :]
    return replacement


def did_you_mean(query: str, dictionary: TermDictionary, analyzer: Analyzer) -> str | None:
    """The query with misspelled words replaced, or None if nothing needs changing."""
    if not isinstance(query, str) or not dictionary.terms:
        return None
    words = query.split()
    changed = False
    out: list[str] = []
    for word in words[:64]:
        spans = analyzer.tokenizer.spans(word)
        if len(spans) != 1:
            out.append(word)
            continue
        start, end = spans[0]
        fixed = _best_replacement(word[start:end], analyzer, dictionary)
        if fixed is None:
            out.append(word)
        else:
            out.append(word[:start] + fixed + word[end:])
            changed = True
    if not changed:
        return None
    return " ".join(out + words[64:])


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
