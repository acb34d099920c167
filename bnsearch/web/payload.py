"""The JSON shapes of the API: a search page, a hit, an article, related articles.

One function per shape, used by the endpoints and described once more, as a contract, by
:mod:`bnsearch.web.openapi` (the tests check every response against it). Strings from the
index go out as JSON strings; the one HTML string, ``snippet_html``, is escaped text with
only ``<mark>``/``</mark>`` added. Nothing here imports the web framework.
"""

from __future__ import annotations

from typing import Any

from bnsearch.articles import Article
from bnsearch.articles.jsonl import article_to_record
from bnsearch.search import Fragment, Hit, Results
from bnsearch.search.related import relation


def fragment_json(fragment: Fragment) -> dict[str, Any]:
    """A highlight: the text, and the ``[start, end)`` spans to mark within it."""
    return {
        "text": fragment.text,
        "spans": [list(span) for span in fragment.spans],
        "truncated_before": fragment.truncated_before,
        "truncated_after": fragment.truncated_after,
    }


def _section(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(part) for part in value]
    return []


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


def hit_json(hit: Hit) -> dict[str, Any]:
    """One hit: id, score, stored title/url/section/published, highlights and snippet."""
    fields = hit.fields
    snippet = hit.snippet
    return {
        "id": hit.id,
        "score": float(hit.score),
        "title": str(fields.get("title") or ""),
        "url": _optional(fields.get("url")),
        "section": _section(fields.get("section")),
        "published": _optional(fields.get("published")),
        "snippet_html": snippet.markup() if snippet is not None else "",
        "highlights": {name: fragment_json(f) for name, f in hit.highlights.items()},
    }


def search_json(
    results: Results, *, q: str, suggestion: str | None, took_ms: float
) -> dict[str, Any]:
    """A page of /search."""
    return {
        "q": q,
        "total": results.total,
        "total_is_exact": results.total_is_exact,
        "offset": results.offset,
        "limit": results.limit,
        "hits": [hit_json(hit) for hit in results],
        "facets": {name: dict(counts) for name, counts in results.facets.items()},
        "suggestion": suggestion,
        "notes": list(results.notes),
        "took_ms": round(took_ms, 3),
    }


def related_json(article_id: str, results: Results, *, took_ms: float) -> dict[str, Any]:
    """/articles/{id}/related: the related articles, best first (no highlights)."""
    return {
        "id": article_id,
        "hits": [
            {
                "id": hit.id,
                "score": float(hit.score),
                "relation": relation(hit.score),
                "title": str(hit.fields.get("title") or ""),
                "url": _optional(hit.fields.get("url")),
                "section": _section(hit.fields.get("section")),
                "published": _optional(hit.fields.get("published")),
            }
            for hit in results
        ],
        "took_ms": round(took_ms, 3),
    }


def article_json(article: Article) -> dict[str, Any]:
    """/articles/{id}: the stored article as its JSONL record (the PUT body's format)."""
    return article_to_record(article)
