"""The searcher source of a sharded index folder (:mod:`bnsearch.distributed`), in-process.

:class:`ShardedSource` serves a :class:`~bnsearch.distributed.ShardedIndex` through the
same seam as one index (:class:`~bnsearch.web.source.SearcherSource`): reads go to a
:class:`~bnsearch.distributed.ShardedSearcher` run in this process (no Dask client), writes
to ``ShardedIndex.add``/``delete``. It looks at ``shards.json`` at most every
``refresh_interval`` seconds and opens a new searcher when another process completed a
change; a search that finds a shard moved on under it (another worker's write between
two looks) refreshes and runs again once.

A write is atomic per shard, not across shards: each shard commits its part, then
``shards.json`` is rewritten. A write request commits the shards its ids route to (a PUT
or a DELETE: one shard; the others' commits are no-ops). A PUT or POST that also
deletes would be two changes; the app never sends both in one request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from bnsearch.articles import Article
from bnsearch.distributed import ShardedIndex, ShardedSearcher, StaleShardError
from bnsearch.distributed.manifest import read_manifest
from bnsearch.search import Results
from bnsearch.search.searcher import MAX_LIMIT
from bnsearch.web.errors import RequestError
from bnsearch.web.source import REFRESH_INTERVAL, WriteReport, field_facts

T = TypeVar("T")


class _Reads:
    """What the app calls on a searcher, over the source's current sharded searcher: a
    shard that moved on under a call refreshes the source and the call runs again."""

    def __init__(self, source: ShardedSource) -> None:
        self._source = source

    def _run(self, call: Callable[[ShardedSearcher], T]) -> T:
        try:
            return call(self._source.current())
        except StaleShardError:
            return call(self._source.reload())

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        offset: int = 0,
        filter: Any = None,
        sort: str | None = None,
    ) -> Results:
        if offset + limit > MAX_LIMIT:  # each shard returns offset + limit hits
            raise RequestError(
                400,
                "bad_request",
                f"offset + limit must be at most {MAX_LIMIT} on a sharded index, "
                f"got {offset + limit}",
            )
        return self._run(
            lambda s: s.search(query, limit=limit, offset=offset, filter=filter, sort=sort)
        )

    def related(self, article_id: str, *, limit: int = 10) -> Results:
        return self._run(lambda s: s.related(article_id, limit=limit))

    def suggest(self, query: str) -> str | None:
        return self._run(lambda s: s.suggest(query))

    def complete(self, prefix: str, *, limit: int = 8) -> list[str]:
        return self._run(lambda s: s.complete(prefix, limit=limit))


class ShardedSource:
    """The source of a :class:`~bnsearch.distributed.ShardedIndex` (thread-safe).

    Args:
        index: the sharded index.
        refresh_interval: seconds between looks at ``shards.json`` for newer changes.
    """

    def __init__(self, index: ShardedIndex, *, refresh_interval: float = REFRESH_INTERVAL) -> None:
        self.index = index
        self.refresh_interval = refresh_interval
        self._searcher = index.searcher()
        self._commit = index.manifest.commit
        self._checked = time.monotonic()
        self._refresh_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._reads = _Reads(self)

    @property
    def writable(self) -> bool:
        return True

    def searcher(self) -> _Reads:
        return self._reads

    def current(self) -> ShardedSearcher:
        """The sharded searcher, refreshed if ``shards.json`` moved on since it opened."""
        now = time.monotonic()
        if now - self._checked >= self.refresh_interval and self._refresh_lock.acquire(
            blocking=False
        ):  # one thread looks; the others keep the searcher they have meanwhile
            try:
                commit = read_manifest(self.index.path).commit
                if commit != self._commit:
                    self._searcher, self._commit = self.index.searcher(), commit
                self._checked = now
            finally:
                self._refresh_lock.release()
        return self._searcher

    def reload(self) -> ShardedSearcher:
        """A searcher on every shard's newest commit, now."""
        with self._refresh_lock:
            commit = read_manifest(self.index.path).commit
            self._searcher, self._commit = self.index.searcher(), commit
            self._checked = time.monotonic()
            return self._searcher

    def article(self, article_id: str) -> Article | None:
        return self._reads._run(lambda s: s.article(article_id))

    def stats(self) -> dict[str, Any]:
        def facts(searcher: ShardedSearcher) -> dict[str, Any]:
            base = searcher.base

            def average(name: str) -> float:
                return base.length_sums.get(name, 0) / base.total_docs if base.total_docs else 0.0

            return {
                "articles": base.total_docs,
                "generation": self._commit,
                "segments": searcher.segment_count(),
                "fields": field_facts(searcher.schema, average),
                "shards": len(searcher.shard_paths),
            }

        return self._reads._run(facts)

    def apply(self, upserts: Sequence[Article], deletes: Sequence[str]) -> WriteReport:
        """Upsert, then delete (the order of one index's source): ``ShardedIndex.add`` and
        ``delete``, each committing the shards the ids route to. The figures count ids
        against the newest commit before the write, as one index's commit counts them."""
        with self._write_lock:
            before = self.reload()
            upsert_ids = list(dict.fromkeys(article.id for article in upserts))
            replaced = sum(1 for i in upsert_ids if before.article(i) is not None)
            deleted = sum(
                1
                for i in dict.fromkeys(deletes)
                if i in upsert_ids or before.article(i) is not None
            )
            if upserts:
                self.index.add(upserts)
            if deletes:
                self.index.delete(list(deletes))
            after = self.reload()
        return WriteReport(
            added=len(upsert_ids) - replaced,
            replaced=replaced,
            deleted=deleted,
            generation=self._commit,
            doc_count=after.doc_count,
        )
