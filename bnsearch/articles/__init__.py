"""articles/: news pages, JSONL and folders -> :class:`Article` values and their links.

``model`` the values, ``page`` page text <-> Article, ``jsonl`` JSON records <-> Article,
``reader`` files and folders -> Articles, ``links`` related headlines -> the link graph,
``demo`` where the shipped demo corpus lives.
"""

from bnsearch.articles.demo import demo_article_files, demo_corpus_path
from bnsearch.articles.jsonl import (
    article_from_record,
    article_to_record,
    dumps_article,
    write_jsonl,
)
from bnsearch.articles.links import (
    Edge,
    LinkGraph,
    LinkStatus,
    PendingLink,
    Resolution,
    title_key,
    url_key,
)
from bnsearch.articles.model import Article, RelatedLink, valid_text
from bnsearch.articles.page import format_page, page_id, parse_page
from bnsearch.articles.reader import (
    ReadReport,
    SkippedRecord,
    SkippedRecordWarning,
    read_articles,
    read_page_file,
)

__all__ = [
    "Article",
    "Edge",
    "LinkGraph",
    "LinkStatus",
    "PendingLink",
    "ReadReport",
    "RelatedLink",
    "Resolution",
    "SkippedRecord",
    "SkippedRecordWarning",
    "article_from_record",
    "article_to_record",
    "demo_article_files",
    "demo_corpus_path",
    "dumps_article",
    "format_page",
    "page_id",
    "parse_page",
    "read_articles",
    "read_page_file",
    "title_key",
    "url_key",
    "valid_text",
    "write_jsonl",
]
