"""bnsearch: full-text search for Bengali news.

Rooms, in data-flow order: :mod:`bnsearch.articles` (pages and JSONL -> Article),
:mod:`bnsearch.analysis` (text -> terms), :mod:`bnsearch.index` (durable segments),
:mod:`bnsearch.search` (queries, BM25F, highlights). The names below are the public API.
"""

from bnsearch.analysis import Analyzer, Token, analyze, bengali_analyzer
from bnsearch.errors import (
    AnalysisError,
    AnalyzerMismatchError,
    ArticleError,
    BnSearchError,
    IndexFormatError,
    IndexLockedError,
    QuerySyntaxError,
    SchemaError,
)

__version__ = "0.1.0"

__all__ = [
    "AnalysisError",
    "Analyzer",
    "AnalyzerMismatchError",
    "ArticleError",
    "BnSearchError",
    "IndexFormatError",
    "IndexLockedError",
    "QuerySyntaxError",
    "SchemaError",
    "Token",
    "__version__",
    "analyze",
    "bengali_analyzer",
]
