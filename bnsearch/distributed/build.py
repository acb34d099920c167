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
  It answers a :class:`Built`: the generation, and for a :class:`SourceBatch` what the
  shard's read of the sources found (a :class:`~bnsearch.articles.ReadReport`);
* :func:`merged_report` makes the shards' reports one, as one reader of the same
  sources would have filled it (each bad record once, in the order read).

A shard is built inside :func:`bnsearch.heap.bulk_allocation` (a Dask worker's nanny
fixes the C heap's trim threshold; the build keeps freed memory for reuse).

Nothing here imports Dask.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import PurePath

import attrs

from bnsearch.articles import Article, ReadReport, SkippedRecord, read_articles
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


#: The generation :func:`build_shard` answers when it met a related link in a change
#: planned as having none (its shard's batch rolled back: nothing committed).
LINKS_FOUND = -1


@attrs.frozen
class Built:
    """What one shard task did.

    Attributes:
        generation: the shard's new generation, or :data:`LINKS_FOUND`.
        read: for a :class:`SourceBatch`, what the shard's read of the sources found
            (its articles, the bad records it skipped or met, the files passed over);
            ``None`` for articles handed to the task.
    """

    generation: int
    read: ReadReport | None = None

    @property
    def links_found(self) -> bool:
        return self.generation == LINKS_FOUND


def build_shard(
    path: str,
    articles: Iterable[Article],
    deletes: Sequence[str],
    anchors: Mapping[str, Sequence[str]] | None = None,
    unlinked: bool = False,
) -> Built:
    """Delete ``deletes``, upsert ``articles`` into the shard, give ``anchors`` (article
    id -> headlines, decided over every shard: :mod:`.anchors`), commit; the new
    generation (and the read's report, for a :class:`SourceBatch`). ``unlinked``: the
    change was planned as holding no related link (no link anywhere before it, its
    articles not read): an article with one stops the build, and :data:`LINKS_FOUND` is
    answered with nothing committed."""
    index = Index.open(path)
    report = ReadReport() if isinstance(articles, SourceBatch) else None
    items = articles.read(report) if isinstance(articles, SourceBatch) else articles
    with bulk_allocation():
        writer = index.writer(timeout=60.0, external_anchors=True)
        try:
            writer.set_anchors(anchors or {})
            for article_id in deletes:
                writer.delete(article_id)
            for article in items:
                if unlinked and article.related:
                    return Built(LINKS_FOUND, _sent(report))  # closing the writer rolls back
                writer.add(article)
            writer.commit()
        finally:
            writer.close()
    forget(path)
    return Built(index.generation, _sent(report))


def _sent(report: ReadReport | None) -> ReadReport | None:
    """``report`` as it travels back: its counts and lists, without the ids it saw."""
    if report is None:
        return None
    return ReadReport(
        articles=report.articles,
        files=report.files,
        skipped=report.skipped,
        ignored_files=report.ignored_files,
        duplicates=report.duplicates,
    )


def merged_report(parts: Iterable[ReadReport | None], sources: Sequence[str]) -> ReadReport:
    """The shards' reads of ``sources`` as one report, as one reader of the sources fills
    it. Every shard reads every file: the files are counted and passed over once; each
    article is kept (and counted, and a repeat of its id noted) by its one shard; a bad
    record is skipped by the shard that keeps its id, or by every shard where its id
    cannot be seen without decoding it (a line that is not JSON, a damaged file): it is
    listed once. Records are listed in the order read: by source, then by path (a
    folder is read in sorted path order), line and byte offset."""
    reads = [part for part in parts if part is not None]
    order = functools.partial(_read_order, tuple(PurePath(s) for s in sources))
    return ReadReport(
        articles=sum(part.articles for part in reads),
        files=max((part.files for part in reads), default=0),
        skipped=sorted({item for part in reads for item in part.skipped}, key=order),
        ignored_files=list(dict.fromkeys(f for part in reads for f in part.ignored_files)),
        duplicates=sorted({item for part in reads for item in part.duplicates}, key=order),
    )


def _read_order(
    sources: tuple[PurePath, ...], item: SkippedRecord
) -> tuple[int, tuple[str, ...], int, int]:
    """Where a reader of ``sources`` meets ``item``: the source, the path's parts below
    it (a folder's files are read depth first, each folder's entries sorted by name),
    the line and the byte offset."""
    path = PurePath(item.path)
    for number, source in enumerate(sources):
        if path == source or source in path.parents:
            return (number, path.relative_to(source).parts, item.line or 0, item.offset or 0)
    return (len(sources), path.parts, item.line or 0, item.offset or 0)


def source_links(source: str, skip_bad: bool) -> list[Article]:
    """Every article of the source as the anchors need it (id, title, URL, related
    links; no body), in order. What it skips, the shards' reads report."""
    return [
        Article(id=article.id, title=article.title, url=article.url, related=article.related)
        for article in read_articles(source, skip_bad=skip_bad, report=ReadReport())
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
        return self.read(None)

    def read(self, report: ReadReport | None) -> Iterator[Article]:
        """The shard's articles, ``report`` (when given) filled as they are read (without
        one, a skipped record is a warning where it is read)."""
        keep = functools.partial(_routed_to, self.shard, self.shards)
        for source in self.sources:
            yield from read_articles(source, skip_bad=self.skip_bad, report=report, keep=keep)
