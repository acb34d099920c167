"""Related-headline links across shards, and ``related()`` over a sharded index.

A related headline on one shard may name an article on another: a shard alone resolves
only its own links (the others stay unresolved there). Here the link rule itself
(:class:`~bnsearch.articles.links.LinkGraph`: target id, then URL, then headline) runs
over every shard's link records (id, title, URL, related headlines: no body text),
gathered once per searcher snapshot, so an out-link or in-link is found whichever shard
holds either end.

``related()`` is :func:`bnsearch.search.related.related` itself, run over a
:class:`GlobalView`: a reader-like view whose links come from that graph, whose stored
rows come from the shards and whose document frequencies are summed over them, and whose
searches are sharded searches. An article's ``anchors`` field (the headlines pointing at
it) is global too, but decided when the index changes, not here (:mod:`.anchors`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from bnsearch.articles import Article, RelatedLink
from bnsearch.articles.links import LinkGraph
from bnsearch.distributed.manifest import shard_of
from bnsearch.distributed.shard import open_shard
from bnsearch.index.schema import Schema
from bnsearch.search.results import Results

#: ``(id, title, url, related links)`` of one live article.
LinkRecord = tuple[str, str, str | None, tuple[RelatedLink, ...]]


def shard_link_records(path: str, generation: int) -> list[LinkRecord]:
    """The link records of every live article of a shard."""
    reader, _ = open_shard(path, generation)
    records: list[LinkRecord] = []
    for article_id in reader.article_ids():
        article = reader.article(article_id)
        assert article is not None
        records.append((article.id, article.title, article.url, article.related))
    return records


def link_graph(parts: Sequence[Sequence[LinkRecord]]) -> LinkGraph:
    """The link graph over every shard's records (the one-index rule, all articles)."""
    return LinkGraph.from_articles(
        Article(id=ident, title=title, url=url, related=related)
        for part in parts
        for ident, title, url, related in part
    )


def shard_doc_freqs(path: str, generation: int, field: str, terms: Sequence[str]) -> list[int]:
    """The shard's live document frequency of each term in ``field``."""
    reader, _ = open_shard(path, generation)
    return [reader.doc_freq(field, term) for term in terms]


def shard_rows(path: str, generation: int, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored rows of those of ``ids`` the shard holds."""
    reader, _ = open_shard(path, generation)
    rows = {}
    for article_id in ids:
        where = reader.find(article_id)
        if where is not None:
            rows[article_id] = reader.stored(*where)
    return rows


class Frequencies:
    """Document frequencies summed over the shards, fetched for many terms at once."""

    def __init__(self, fetch: Callable[[str, list[str]], list[int]]) -> None:
        self._fetch = fetch
        self._known: dict[tuple[str, str], int] = {}

    def prefetch(self, field: str, terms: Iterable[str]) -> None:
        missing = [t for t in dict.fromkeys(terms) if (field, t) not in self._known]
        if missing:
            for term, value in zip(missing, self._fetch(field, missing), strict=True):
                self._known[(field, term)] = value

    def doc_freq(self, field: str, term: str) -> int:
        if (field, term) not in self._known:
            self.prefetch(field, [term])
        return self._known[(field, term)]


class GlobalReader:
    """What :func:`bnsearch.search.related.related` reads, over every shard: a location
    is ``(shard number, article id)``."""

    def __init__(
        self,
        graph: LinkGraph,
        doc_count: int,
        shards: int,
        rows: Callable[[int, list[str]], dict[str, dict[str, Any]]],
        frequencies: Frequencies,
        schema: Schema,
    ) -> None:
        self.doc_count = doc_count
        self._graph = graph
        self._shards = shards
        self._rows = rows
        self._frequencies = frequencies
        self._schema = schema
        self._cache: dict[str, dict[str, Any]] = {}

    def find(self, article_id: str) -> tuple[int, str] | None:
        if article_id not in self._graph:
            return None
        return shard_of(article_id, self._shards), article_id

    def out_links(self, article_id: str) -> list[str]:
        return list(self._graph.out_links(article_id))

    def in_links(self, article_id: str) -> list[str]:
        return list(self._graph.in_links(article_id))

    def stored(self, shard: int, article_id: str) -> dict[str, Any]:
        row = self._cache.get(article_id)
        if row is None:
            row = self._cache[article_id] = self._rows(shard, [article_id])[article_id]
            if "body" in self._schema:  # its words' frequencies, in one fan-out
                text = f"{row.get('title') or ''}\n{row.get('body') or ''}"
                self._frequencies.prefetch("body", self._schema.analyzer("body").terms(text))
        return row


@attrs.frozen
class GlobalView:
    """A searcher-like view of a sharded index for :func:`bnsearch.search.related.related`
    (it reads ``reader``, ``schema``, ``_ctx.doc_freq`` and calls ``search``)."""

    reader: GlobalReader
    schema: Schema
    _ctx: Frequencies = attrs.field(alias="ctx")
    search: Callable[..., Results]
