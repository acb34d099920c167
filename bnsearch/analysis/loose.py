"""Loose phonetic folding: merges spellings Bengali readers treat as variants.

ী -> ি, ূ -> ু, ণ -> ন, শ and ষ -> স. This raises recall for misspelled queries but merges
words that native readers keep apart, so it is never in the default chain: use it for a
secondary, low-weight field (``bengali_analyzer(loose=True)``).
"""

from __future__ import annotations

from bnsearch.analysis.pipeline import WordMap

_LOOSE_TABLE = str.maketrans({"ী": "ি", "ূ": "ু", "ণ": "ন", "শ": "স", "ষ": "স"})


def loose_fold(term: str) -> str:
    """Fold the phonetic variants of one normalized term."""
    return term.translate(_LOOSE_TABLE)


#: Filter: :func:`loose_fold`.
LOOSE_FOLDING = WordMap("bn-loose-v1", "normalize", loose_fold)
