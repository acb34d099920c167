"""articles/: news pages, JSONL and folders -> :class:`Article` values and their links."""

from bnsearch.articles.model import Article, RelatedLink

__all__ = ["Article", "RelatedLink"]
