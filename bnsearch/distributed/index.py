"""``ShardedIndex``: N ordinary index folders and the manifest that ties them.

Articles are routed to a shard by a hash of their id (:func:`.manifest.shard_of`), so an
upsert or a delete touches exactly one shard. ``add`` and ``delete`` build every shard in
its own task (in parallel on a Dask cluster, one after another in this process), each
committing its shard, then write ``shards.json`` with the shards' new generations. Each
shard commit is atomic; a change is not atomic across shards: if a shard task fails, the
others have committed, ``shards.json`` is not rewritten and the error is raised. Running
the same ``add`` again completes it (it is an upsert).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from bnsearch.articles import Article, ReadReport
from bnsearch.distributed.anchors import BatchLinks, plan_anchors, repair_plan, verify_sharded
from bnsearch.distributed.build import (
    ArticleBatch,
    Built,
    SourceBatch,
    build_shard,
    merged_report,
    source_links,
)
from bnsearch.distributed.hosts import TIMEOUT
from bnsearch.distributed.manifest import (
    MANIFEST,
    ShardManifest,
    read_manifest,
    shard_folder,
    shard_of,
    write_manifest,
)
from bnsearch.distributed.runner import RETRIES, Runner
from bnsearch.distributed.searcher import ShardedSearcher
from bnsearch.distributed.shard import ShardError
from bnsearch.errors import ArticleError, IndexFormatError
from bnsearch.index import Index
from bnsearch.index.lock import FileWriteLock
from bnsearch.index.schema import Schema
from bnsearch.index.verify import VerifyReport
from bnsearch.search.scoring import BM25FParams

#: The sharded index's writer lock (one ``add``/``delete`` at a time).
LOCK = "shards.lock"
#: Largest shard count.
MAX_SHARDS = 4096


class ShardedIndex:
    """An index split into shards by article id. Build one with :meth:`create`."""

    def __init__(self, path: Path, manifest: ShardManifest) -> None:
        self.path = path
        self.manifest = manifest

    def __repr__(self) -> str:
        return f"ShardedIndex({str(self.path)!r}, shards={self.shards})"

    @classmethod
    def create(
        cls, path: str | os.PathLike[str], *, shards: int, schema: Schema | None = None
    ) -> ShardedIndex:
        """Create a sharded index of ``shards`` empty index folders under ``path``."""
        if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= MAX_SHARDS:
            raise ValueError(f"shards must be an int from 1 to {MAX_SHARDS}, got {shards!r}")
        root = Path(path)
        if (root / MANIFEST).exists():
            raise IndexFormatError(f"{root / MANIFEST}: a sharded index already exists here")
        if root.exists() and any(root.iterdir()):
            raise IndexFormatError(f"{root}: folder is not empty; give a new or empty folder")
        root.mkdir(parents=True, exist_ok=True)
        folders = tuple(shard_folder(number) for number in range(shards))
        generations = tuple(Index.create(root / f, schema=schema).generation for f in folders)
        manifest = ShardManifest(shards=shards, folders=folders, generations=generations)
        write_manifest(root, manifest)
        return cls(root, manifest)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> ShardedIndex:
        """Open a sharded index (``shards.json`` and every shard folder must be there)."""
        root = Path(path)
        manifest = read_manifest(root)
        for folder in manifest.folders:
            if not (root / folder).is_dir():
                raise ShardError(f"{root / folder}: shard folder missing")
        return cls(root, manifest)

    @property
    def shards(self) -> int:
        return self.manifest.shards

    @property
    def shard_paths(self) -> list[Path]:
        """Each shard's folder (an ordinary index: ``Index.open`` reads it)."""
        return [self.path / folder for folder in self.manifest.folders]

    @property
    def doc_count(self) -> int:
        """Live articles over every shard's newest commit."""
        return sum(Index.open(p).doc_count for p in self.shard_paths)

    def shard_of(self, article_id: str) -> int:
        """The shard an article id is routed to."""
        return shard_of(article_id, self.shards)

    # -- changes ------------------------------------------------------------------------
    def add(
        self, articles: Iterable[Article], *, client: Any = None, retries: int = RETRIES
    ) -> int:
        """Upsert ``articles`` (routed by id) and commit every shard; the number added.

        With a Dask ``client`` each shard is built by a task on a worker (the shard
        folders must be on a filesystem every worker sees at the same path).
        """
        batches: list[list[Article]] = [[] for _ in range(self.shards)]
        every = []
        for article in articles:
            if not isinstance(article, Article):
                raise TypeError(f"add() takes Article values, got {type(article).__name__}")
            batches[self.shard_of(article.id)].append(article)
            every.append(article)
        links = BatchLinks(tuple(every))
        self._change([ArticleBatch(tuple(b)) for b in batches], None, client, retries, links)
        return len(every)

    def add_sources(
        self,
        sources: Iterable[str | os.PathLike[str]],
        *,
        client: Any = None,
        skip_bad: bool = False,
        retries: int = RETRIES,
    ) -> ReadReport:
        """Upsert the articles of page files, folders or (gzipped) JSONL files, read on
        the workers: each shard's task reads every source and keeps the articles routed
        to its shard (a JSONL line routed elsewhere is passed over by its id, undecoded),
        so no article travels through the scheduler and each is decoded once. When some
        link exists (in the shards, or met by a shard task, which then stops without
        committing), one task per source reads what the anchors need of every article
        (id, title, URL, links) and the shards are built with the anchors decided. The
        sources must be at the same path on every worker. Commits every shard.

        Answers the read's :class:`~bnsearch.articles.ReadReport`, as one reader of the
        sources would fill it: articles read, files, the bad records ``skip_bad`` left
        out (each once, with its file, line and reason), files passed over, repeated
        ids. Without ``skip_bad`` a bad record raises :class:`ArticleError` instead."""
        paths = tuple(str(Path(source).resolve()) for source in sources)
        for path in paths:
            if not os.path.exists(path):
                raise ArticleError("no such file or folder", path=path)
        batches = [SourceBatch(paths, n, self.shards, skip_bad) for n in range(self.shards)]
        built = self._change(batches, None, client, retries, None)
        if built is None:  # some link exists: read the link records, then build again
            runner = Runner(client, retries=retries)
            parts = runner.map(source_links, [(p, skip_bad) for p in paths])
            links = BatchLinks(tuple(article for part in parts for article in part))
            built = self._change(batches, None, client, retries, links)
            assert built is not None  # with the links read, every shard completes
        return merged_report((b.read for b in built), paths)

    def delete(self, ids: Iterable[str], *, client: Any = None, retries: int = RETRIES) -> None:
        """Delete the articles with these ids (absent ids are ignored); commit every shard."""
        deletes: list[list[str]] = [[] for _ in range(self.shards)]
        for article_id in [ids] if isinstance(ids, str) else ids:
            if not isinstance(article_id, str):
                raise TypeError(f"delete() takes article ids (str), got {article_id!r}")
            deletes[self.shard_of(article_id)].append(article_id)
        self._change(None, deletes, client, retries, BatchLinks())

    def repair_anchors(self, *, client: Any = None, retries: int = RETRIES) -> int:
        """Give every live article the anchors the links over every shard give it, where
        its stored ones differ (shards written before anchors were decided over every
        shard hold their own links' anchors; :meth:`verify` names them); the number
        repaired. Reads every shard's link state and builds the whole link graph once
        (O(index)); each shard with differences commits an anchor update, nothing is
        re-analyzed."""
        lock = FileWriteLock(self.path / LOCK, timeout=60.0)
        try:
            runner = Runner(client, retries=retries)
            paths = [str(shard) for shard in self.shard_paths]
            plans = repair_plan(runner, paths)
            numbers = [n for n, plan in enumerate(plans) if plan]
            calls: list[tuple[Any, ...]] = [
                (paths[n], ArticleBatch(()), [], plans[n]) for n in numbers
            ]
            built = runner.map(build_shard, calls, numbers)
            if numbers:
                self._record({n: b.generation for n, b in zip(numbers, built, strict=True)})
            return sum(len(plan) for plan in plans)
        finally:
            lock.release()

    def _change(
        self,
        batches: Sequence[Iterable[Article]] | None,
        deletes: list[list[str]] | None,
        client: Any,
        retries: int,
        links: BatchLinks | None,
    ) -> list[Built] | None:
        """Plan the anchors, build every shard, write ``shards.json``; what each shard's
        task did. ``links=None``: the batches' articles were not read: ``None`` (and,
        for shards that met no link, their part committed) when some link exists, for
        the caller to run the change again with its :class:`BatchLinks`."""
        lock = FileWriteLock(self.path / LOCK, timeout=60.0)
        try:
            runner = Runner(client, retries=retries)
            paths = [str(shard) for shard in self.shard_paths]
            gone = [i for part in deletes or () for i in part]
            anchors = plan_anchors(runner, paths, links, gone)
            if anchors is None:
                return None  # links exist: the change's articles must be read first
            calls = []
            for number, shard in enumerate(self.shard_paths):
                # the articles travel inside the task (not scattered): if the worker
                # building a shard dies, the task re-runs elsewhere with its articles
                batch: Iterable[Article] = ArticleBatch(()) if batches is None else batches[number]
                removed = [] if deletes is None else deletes[number]
                calls.append((str(shard), batch, removed, anchors[number], links is None))
            built = runner.map(build_shard, calls)
            if any(b.links_found for b in built):
                return None
            self._record({n: b.generation for n, b in enumerate(built)})
            return built
        finally:
            lock.release()

    def _record(self, generations: Mapping[int, int]) -> None:
        """Write ``shards.json`` with these shards' new generations (a completed change)."""
        manifest = read_manifest(self.path)
        now = [generations.get(n, g) for n, g in enumerate(manifest.generations)]
        self.manifest = attrs.evolve(manifest, generations=tuple(now), commit=manifest.commit + 1)
        write_manifest(self.path, self.manifest)

    def verify(self, *, client: Any = None) -> VerifyReport:
        """Check every shard (``bnsearch.index.verify``), then every live article's stored
        anchors against the links resolving to it over every shard; one report."""
        runner = Runner(client)
        return verify_sharded(runner, str(self.path), [str(p) for p in self.shard_paths])

    # -- search -------------------------------------------------------------------------
    def searcher(
        self,
        *,
        client: Any = None,
        params: BM25FParams | None = None,
        default_fields: Mapping[str, float] | None = None,
        resident: bool = True,
        timeout: float | None = TIMEOUT,
    ) -> ShardedSearcher:
        """A searcher over every shard's newest commit (on the cluster of ``client``,
        or in this process; ``resident``, ``timeout``: see :class:`ShardedSearcher`)."""
        return ShardedSearcher(
            [str(p) for p in self.shard_paths],
            client=client,
            params=params,
            default_fields=default_fields,
            resident=resident,
            timeout=timeout,
        )
