"""The build side of a shard: route a source's articles to the shards, build one shard.

Plain functions of folders, run alike in this process or as Dask tasks on a worker:

* :func:`route_source` reads one source once and writes each shard's articles to a
  staging folder beside the shards (with the link records of :mod:`.anchors`), so no
  article travels through the scheduler;
* :func:`build_shard` upserts and deletes in one shard, gives its articles the anchors
  decided over every shard, and commits once: a process killed in it leaves the shard at
  its last commit (the index's guarantee), and running it again gives the same shard.

Nothing here imports Dask.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from bnsearch.articles import Article, read_articles
from bnsearch.articles.jsonl import article_to_record
from bnsearch.articles.reader import read_articles_with_lines
from bnsearch.distributed.anchors import link_line, records_folder
from bnsearch.distributed.manifest import shard_folder, shard_of
from bnsearch.distributed.shard import forget
from bnsearch.index import Index


@attrs.frozen
class ArticleBatch:
    """One shard's articles, sent to a worker as one object."""

    articles: tuple[Article, ...]

    def __iter__(self) -> Iterator[Article]:
        return iter(self.articles)


def build_shard(
    path: str,
    articles: Iterable[Article],
    deletes: Sequence[str],
    anchors: Mapping[str, Sequence[str]] | None = None,
) -> int:
    """Delete ``deletes``, upsert ``articles`` into the shard, give ``anchors`` (article
    id -> headlines, decided over every shard: :mod:`.anchors`), commit; the new
    generation."""
    index = Index.open(path)
    with index.writer(timeout=60.0, external_anchors=True) as writer:
        writer.set_anchors(anchors or {})
        for article_id in deletes:
            writer.delete(article_id)
        writer.add_many(articles)
    forget(path)
    return index.generation


def route_source(source: str, staging: str, number: int, shards: int, skip_bad: bool) -> None:
    """Read one source (page file, folder or JSONL) once and write its articles, as JSONL,
    to one part file per shard: ``staging/shard-NNNN/part-MMMMM.jsonl`` (``MMMMM`` =
    ``number``, the source's position), and their link records to
    ``staging/links/part-MMMMM.jsonl``. A JSONL record is copied as read (checked, not
    encoded again). A re-run rewrites the same files."""
    handles: dict[int, Any] = {}
    folder = records_folder(staging)
    os.makedirs(folder, exist_ok=True)
    links = open(os.path.join(folder, f"part-{number:05d}.jsonl"), "w", encoding="utf-8")  # noqa: SIM115
    try:
        for article, line in read_articles_with_lines(source, skip_bad=skip_bad):
            target = shard_of(article.id, shards)
            handle = handles.get(target)
            if handle is None:
                folder = os.path.join(staging, shard_folder(target))
                os.makedirs(folder, exist_ok=True)
                path = os.path.join(folder, f"part-{number:05d}.jsonl")
                handle = handles[target] = open(path, "wb")  # noqa: SIM115
            if line is None:  # a page file
                record = json.dumps(article_to_record(article), ensure_ascii=False)
                line = record.encode("utf-8")
            handle.write(line if line.endswith(b"\n") else line + b"\n")
            links.write(link_line(article))
    finally:
        links.close()
        for handle in handles.values():
            handle.close()


@attrs.frozen
class StagedBatch:
    """A shard's articles routed by :func:`route_source`, read where the shard is built,
    in the order of the sources (a later copy of an article replaces an earlier one)."""

    folder: str

    def __iter__(self) -> Iterator[Article]:
        if not os.path.isdir(self.folder):
            return
        for name in sorted(os.listdir(self.folder)):
            yield from read_articles(os.path.join(self.folder, name))
