"""search/: query text -> query tree -> BM25F over segments (numpy) -> ranked results.

Owns the query language (:mod:`.parser`, :mod:`.query`), ranking (:mod:`.scoring`,
:mod:`.engine`), the :class:`Searcher` (search, explain, related, suggest, complete),
highlights and snippets (:mod:`.highlight`), spelling and completion (:mod:`.suggest`,
:mod:`.fuzzy`) and romanized lookup (:mod:`.romanize`). Imports index, analysis, articles.
"""

from bnsearch.search.highlight import Fragment
from bnsearch.search.parser import parse_query
from bnsearch.search.query import And, Bool, Fuzzy, MatchAll, Not, Or, Phrase, Prefix, Query, Term
from bnsearch.search.results import Explanation, Hit, Results
from bnsearch.search.scoring import BM25FParams
from bnsearch.search.searcher import Searcher

__all__ = [
    "And",
    "BM25FParams",
    "Bool",
    "Explanation",
    "Fragment",
    "Fuzzy",
    "Hit",
    "MatchAll",
    "Not",
    "Or",
    "Phrase",
    "Prefix",
    "Query",
    "Results",
    "Searcher",
    "Term",
    "parse_query",
]
