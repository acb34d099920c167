"""The build side of a shard: read a shard's articles from shared sources, build one shard.

Plain functions of folders, run alike in this process or as Dask tasks on a worker:

* :func:`source_links` reads one source for what the anchors need of its articles (only
  when some link exists: an archive without links never reads its articles twice);
* :class:`SourceBatch` is a shard's articles read where the shard is built, straight
  from every source: a JSONL line routed to another shard is passed over by its id,
  undecoded (:func:`bnsearch.articles.read_articles`'s ``keep``), so each article is
  decoded once, by its shard, and no article travels through the scheduler or a
  staging file;
* :func:`build_shard` upserts and deletes in one shard, gives its articles the anchors
  decided over every shard, and commits once: a process killed in it leaves the shard at
  its last commit (the index's guarantee), and running it again gives the same shard.
  A change read from sources where no link existed yet is built without reading its
  articles first; a shard meeting a related link then stops, commits nothing, and says
  so (:data:`LINKS_FOUND`): the change is made again with its articles' link records.

A shard is built inside :func:`bnsearch.heap.bulk_allocation` (a Dask worker's nanny
fixes the C heap's trim threshold; the build keeps freed memory for reuse).

Nothing here imports Dask.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence

import attrs

from bnsearch.articles import Article, read_articles
from bnsearch.distributed.manifest import shard_of
from bnsearch.distributed.shard import forget
from bnsearch.heap import bulk_allocation
from bnsearch.index import Index


@attrs.frozen
class ArticleBatch:
    """One shard's articles, sent to a worker as one object."""

    articles: tuple[Article, ...]

    def __iter__(self) -> Iterator[Article]:
        return iter(self.articles)


#: What :func:`build_shard` returns when it met a related link in a change planned as
#: having none (its shard's batch rolled back: nothing committed).
LINKS_FOUND = -1


def build_shard(
    path: str,
    articles: Iterable[Article],
    deletes: Sequence[str],
    anchors: Mapping[str, Sequence[str]] | None = None,
    unlinked: bool = False,
) -> int:
    """Delete ``deletes``, upsert ``articles`` into the shard, give ``anchors`` (article
    id -> headlines, decided over every shard: :mod:`.anchors`), commit; the new
    generation. ``unlinked``: the change was planned as holding no related link (no
    link anywhere before it, its articles not read): an article with one stops the
    build, and :data:`LINKS_FOUND` is returned with nothing committed."""
    index = Index.open(path)
    with bulk_allocation():
        writer = index.writer(timeout=60.0, external_anchors=True)
        try:
            writer.set_anchors(anchors or {})
            for article_id in deletes:
                writer.delete(article_id)
            for article in articles:
                if unlinked and article.related:
                    return LINKS_FOUND  # closing the writer rolls the batch back
                writer.add(article)
            writer.commit()
        finally:
            writer.close()
    forget(path)
    return index.generation


def source_links(source: str, skip_bad: bool) -> list[Article]:
    """Every article of the source as the anchors need it (id, title, URL, related
    links; no body), in order."""
    return [
        Article(id=article.id, title=article.title, url=article.url, related=article.related)
        for article in read_articles(source, skip_bad=skip_bad)
    ]


def _routed_to(shard: int, shards: int, article_id: str) -> bool:
    return shard_of(article_id, shards) == shard


@attrs.frozen
class SourceBatch:
    """Shard ``shard``'s articles of every source (page files, folders, JSONL), read where
    the shard is built, in the order of the sources (a later copy of an article replaces
    an earlier one, as in one index)."""

    sources: tuple[str, ...]
    shard: int
    shards: int
    skip_bad: bool = False

    def __iter__(self) -> Iterator[Article]:
        keep = functools.partial(_routed_to, self.shard, self.shards)
        for source in self.sources:
            yield from read_articles(source, skip_bad=self.skip_bad, keep=keep)
