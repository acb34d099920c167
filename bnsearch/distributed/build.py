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
* :func:`bulk_allocation` keeps the C heap's memory for reuse while a shard is built in
  a process started with a fixed malloc trim threshold (a Dask worker: its nanny sets
  ``MALLOC_TRIM_THRESHOLD_``), and gives it back afterwards.

Nothing here imports Dask.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import attrs

from bnsearch.articles import Article, read_articles
from bnsearch.articles.linkstore import give_back_memory
from bnsearch.distributed.manifest import shard_of
from bnsearch.distributed.shard import forget
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

#: glibc's ``mallopt`` parameters (malloc.h) and its default thresholds.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
DEFAULT_TRIM_THRESHOLD = DEFAULT_MMAP_THRESHOLD = 128 * 1024
#: While a shard is built: freed heap memory is kept up to this much, and blocks below
#: this size come from the heap (glibc's own largest dynamic mmap threshold, 32 MB).
BUILD_TRIM_THRESHOLD = 1 << 30
BUILD_MMAP_THRESHOLD = 32 << 20


@functools.cache
def _mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``mallopt``, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt


def _number(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.isdigit() else default


@contextlib.contextmanager
def bulk_allocation() -> Iterator[None]:
    """Build with the C heap's memory kept for reuse, in a process whose malloc
    thresholds were fixed at its start (``MALLOC_TRIM_THRESHOLD_`` or
    ``MALLOC_MMAP_THRESHOLD_`` in its environment: a Dask nanny sets the first to 64 KB
    for its workers); afterwards the thresholds it had are put back and the free pages
    given back to the system (what that setting is for).

    With a fixed threshold glibc maps every block above 128 KB (numpy arrays of a
    segment's build) anew and unmaps it when freed, and returns the top of the heap at
    every free above 64 KB: a 20,000-article shard build took 3.4x the page faults (681k
    against 203k) and 1.5 more CPU-seconds of system time (+13% CPU in all). A process
    without those variables keeps glibc's dynamic thresholds, which already reuse
    memory: nothing is changed there (a threshold once set would stay fixed)."""
    mallopt = _mallopt()
    trim = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    mmap = os.environ.get("MALLOC_MMAP_THRESHOLD_")
    if mallopt is None or (trim is None and mmap is None):
        yield
        return
    mallopt(M_TRIM_THRESHOLD, BUILD_TRIM_THRESHOLD)
    mallopt(M_MMAP_THRESHOLD, BUILD_MMAP_THRESHOLD)
    try:
        yield
    finally:
        mallopt(M_TRIM_THRESHOLD, _number(trim, DEFAULT_TRIM_THRESHOLD))
        mallopt(M_MMAP_THRESHOLD, _number(mmap, DEFAULT_MMAP_THRESHOLD))
        give_back_memory()


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
