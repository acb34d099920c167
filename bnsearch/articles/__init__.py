"""articles/: news pages, JSONL and folders -> :class:`Article` values and their links."""

from bnsearch.articles.links import (
    Edge,
    LinkGraph,
    LinkStatus,
    PendingLink,
    Resolution,
    title_key,
    url_key,
)
from bnsearch.articles.model import Article, RelatedLink

__all__ = [
    "Article",
    "Edge",
    "LinkGraph",
    "LinkStatus",
    "PendingLink",
    "RelatedLink",
    "Resolution",
    "title_key",
    "url_key",
]
