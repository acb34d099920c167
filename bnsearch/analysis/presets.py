"""Ready-made analyzers: the default Bengali chain and its variants.

The default chain (index and query time alike)::

    ICU words | normalize (NFC, invisibles, repairs, digits) | number+classifier
              | stopwords | light stemmer

Variants: ``loose=True`` appends the phonetic folding of :mod:`.loose` (for a low-weight
extra field, never the default); ``stem=False`` and ``stopwords=None`` switch those steps
off. :func:`lucene_bengali_analyzer` mimics Elasticsearch's ``bengali`` analyzer for
users migrating from it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from bnsearch.analysis.normalize import BengaliNormalizer, NumberClassifierFilter
from bnsearch.analysis.pipeline import Analyzer, IcuWordTokenizer, TermFilter
from bnsearch.analysis.stemmer import BengaliStemmer
from bnsearch.analysis.stopwords import BENGALI_STOPWORDS, StopFilter


def bengali_analyzer(
    *,
    stopwords: Iterable[str] | None = BENGALI_STOPWORDS,
    stem: bool = True,
    min_stem_letters: int = 2,
    protected: Iterable[str] = (),
    loose: bool = False,
) -> Analyzer:
    """The configurable Bengali analyzer.

    Args:
        stopwords: words to drop (normalized on the way in); ``None`` keeps every word.
        stem: apply the light stemmer.
        min_stem_letters: letters a stem must keep (consonants and independent vowels).
        protected: words never stemmed (names, terms of art).
        loose: add the phonetic folding (ী/ি, ূ/ু, ণ/ন, শ/ষ/স); for a secondary field.
    """
    filters: list[TermFilter] = [BengaliNormalizer(), NumberClassifierFilter()]
    if stopwords is not None:
        words = frozenset(stopwords)
        filters.append(StopFilter() if words == BENGALI_STOPWORDS else StopFilter.of(words))
    if stem:
        filters.append(BengaliStemmer(min_letters=min_stem_letters, protected=frozenset(protected)))
    if loose:
        from bnsearch.analysis.loose import LOOSE_FOLDING

        filters.append(LOOSE_FOLDING)
    return Analyzer(tokenizer=IcuWordTokenizer(), filters=tuple(filters))


@functools.lru_cache(maxsize=1)
def default_analyzer() -> Analyzer:
    """The shared default body analyzer (one instance, so its chunk cache is shared)."""
    return bengali_analyzer()


def analyze(text: str) -> list[str]:
    """Terms of ``text`` under the default Bengali analyzer, in order.

    >>> analyze("বাংলাদেশের ১৫টি জেলায়।এবং")
    ['বাংলাদেশ', '15', 'জেলা']
    """
    return default_analyzer().terms(text)
