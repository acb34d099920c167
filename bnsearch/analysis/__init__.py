"""analysis/: Bengali text -> terms with positions and offsets.

ICU word breaks -> canonical spelling -> digit folding -> stopwords -> light stemming.
Imports nothing of bnsearch but :mod:`bnsearch.errors`.
"""

from bnsearch.analysis.lucene import lucene_bengali_analyzer
from bnsearch.analysis.normalize import (
    BengaliNormalizer,
    NumberClassifierFilter,
    fold_digits,
    normalize_text,
    normalize_word,
)
from bnsearch.analysis.pipeline import Analyzer, IcuWordTokenizer, TermFilter
from bnsearch.analysis.presets import analyze, bengali_analyzer, default_analyzer
from bnsearch.analysis.stemmer import BengaliStemmer, stem_word
from bnsearch.analysis.stopwords import BENGALI_STOPWORDS, StopFilter
from bnsearch.analysis.token import Token

__all__ = [
    "BENGALI_STOPWORDS",
    "Analyzer",
    "BengaliNormalizer",
    "BengaliStemmer",
    "IcuWordTokenizer",
    "NumberClassifierFilter",
    "StopFilter",
    "TermFilter",
    "Token",
    "analyze",
    "bengali_analyzer",
    "default_analyzer",
    "fold_digits",
    "lucene_bengali_analyzer",
    "normalize_text",
    "normalize_word",
    "stem_word",
]
