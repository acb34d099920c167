"""Related-headline links across shards, and ``related()`` over a sharded index.

A related headline on one shard may name an article on another: a shard alone resolves
only its own links (the others stay unresolved there). Here the link rule itself
(:class:`~bnsearch.articles.links.LinkGraph`: target id, then URL, then headline) runs
over every shard's link records (id, title, URL, related headlines: no body text),
gathered once per searcher snapshot, so an out-link or in-link is found whichever shard
holds either end.

``related()`` then scores as :meth:`bnsearch.search.Searcher.related` does on one index:
3 per out-link, 2 per in-link, 1 per shared neighbour, plus a content similarity in
[0, 2] from a sharded search of the article's most distinctive words (weighted with the
global idf). What is not global: an article's ``anchors`` field (the headlines pointing
at it) is indexed by its shard's writer from the links that shard resolves, so anchors
from other shards are not in it (see ``docs/distributed.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from bnsearch.articles import Article, RelatedLink
from bnsearch.articles.links import LinkGraph
from bnsearch.distributed.shard import open_shard
from bnsearch.search.scoring import idf

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


def shard_term_tally(path: str, generation: int, article_id: str) -> dict[str, int] | None:
    """How often each body-analyzer term occurs in the article's title (counted twice)
    and body, in order of first occurrence; ``None`` if the shard lacks the article."""
    reader, _ = open_shard(path, generation)
    where = reader.find(article_id)
    if where is None or "body" not in reader.schema:
        return None
    row = reader.stored(*where)
    text = " ".join(str(row.get(key) or "") for key in ("title", "title", "body"))
    tally: dict[str, int] = {}
    for term in reader.schema.analyzer("body").terms(text):
        tally[term] = tally.get(term, 0) + 1
    return tally


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


def distinctive(
    tally: dict[str, int], doc_freqs: Sequence[int], total: int, count: int
) -> list[str]:
    """The ``count`` terms weighing most by ``(1 + ln tf) * idf``."""
    weight = {
        term: (1 + math.log(tally[term])) * float(idf(total, df))
        for term, df in zip(tally, doc_freqs, strict=True)
    }
    return sorted(tally, key=lambda term: -weight[term])[:count]
