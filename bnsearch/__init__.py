"""bnsearch: full-text search for Bengali news.

Rooms, in data-flow order: :mod:`bnsearch.articles` (pages and JSONL -> Article),
:mod:`bnsearch.analysis` (text -> terms), :mod:`bnsearch.index` (durable segments),
:mod:`bnsearch.search` (queries, BM25F, highlights). The names below are the public API.
``accelerated`` is True where searches run on the compiled core (see
:mod:`bnsearch.search.kernel`), False on the numpy path.
"""

from bnsearch.analysis import Analyzer, Token, analyze, bengali_analyzer, lucene_bengali_analyzer
from bnsearch.articles import (
    Article,
    LinkGraph,
    ReadReport,
    RelatedLink,
    demo_corpus_path,
    format_page,
    parse_page,
    read_articles,
    title_key,
    write_jsonl,
)
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
from bnsearch.index import (
    CommitResult,
    FieldSpec,
    Index,
    IndexReader,
    IndexWriter,
    Schema,
    VerifyReport,
    news_schema,
    verify,
)
from bnsearch.search import (
    BM25FParams,
    Explanation,
    Fragment,
    Hit,
    Query,
    Results,
    Searcher,
    parse_query,
)
from bnsearch.search.kernel import accelerated

__version__ = "0.1.0"

__all__ = [
    "AnalysisError",
    "Analyzer",
    "AnalyzerMismatchError",
    "Article",
    "ArticleError",
    "BM25FParams",
    "BnSearchError",
    "CommitResult",
    "Explanation",
    "FieldSpec",
    "Fragment",
    "Hit",
    "Index",
    "IndexFormatError",
    "IndexLockedError",
    "IndexReader",
    "IndexWriter",
    "LinkGraph",
    "Query",
    "QuerySyntaxError",
    "ReadReport",
    "RelatedLink",
    "Results",
    "Schema",
    "SchemaError",
    "Searcher",
    "Token",
    "VerifyReport",
    "__version__",
    "accelerated",
    "analyze",
    "bengali_analyzer",
    "demo_corpus_path",
    "format_page",
    "lucene_bengali_analyzer",
    "news_schema",
    "parse_page",
    "parse_query",
    "read_articles",
    "title_key",
    "verify",
    "write_jsonl",
]
