"""The searcher source: what the web app reads from and writes to, behind one small seam.

The app never holds a :class:`~bnsearch.search.Searcher` itself: it asks a source for the
current one on every request (:meth:`SearcherSource.searcher`), and hands writes to the
source (:meth:`SearcherSource.apply`). :class:`IndexSource` is the source of one index
folder (or an in-memory :class:`~bnsearch.index.Index`): it refreshes its searcher
snapshot when a request comes more than ``refresh_interval`` seconds after the last look
at the manifest, and at once after its own writes, so readers in every worker process see
a commit within that interval.

A sharded index plugs in through the same protocol (:class:`~bnsearch.web.sharded.ShardedSource`,
whose searcher offers the same ``search``/``related``/``suggest``/``complete`` calls);
:func:`open_source` is the one place that decides which kind of source a folder is. This
module does not import the web framework.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs

from bnsearch.articles import Article
from bnsearch.distributed import ShardedIndex, is_sharded
from bnsearch.index import Index, Schema
from bnsearch.search import Results

#: Seconds between two looks at the manifest for a newer commit (the API promises 1 s).
REFRESH_INTERVAL = 0.5
#: Seconds a write waits for the index lock held by another writer (another worker).
WRITE_LOCK_TIMEOUT = 10.0


class SearchAPI(Protocol):
    """The calls the app makes on a searcher (a :class:`~bnsearch.search.Searcher`, or a
    sharded searcher with the same methods)."""

    def search(
        self,
        query: str,
        *,
        limit: int = ...,
        offset: int = ...,
        filter: Any = ...,
        sort: str | None = ...,
    ) -> Results: ...

    def related(self, article_id: str, *, limit: int = ...) -> Results: ...

    def suggest(self, query: str) -> str | None: ...

    def complete(self, prefix: str, *, limit: int = ...) -> list[str]: ...


@attrs.frozen(kw_only=True)
class WriteReport:
    """What one write request changed (the commit's figures)."""

    added: int
    replaced: int
    deleted: int
    generation: int
    doc_count: int

    def to_json(self) -> dict[str, int]:
        return attrs.asdict(self)


@runtime_checkable
class SearcherSource(Protocol):
    """Where the app gets a searcher, stored articles and statistics, and sends writes."""

    @property
    def writable(self) -> bool:
        """Whether :meth:`apply` may be called (a read-only source raises in it)."""
        ...

    def searcher(self) -> SearchAPI:
        """The searcher of a commit at most the refresh interval older than the newest."""
        ...

    def article(self, article_id: str) -> Article | None:
        """The stored live article ``article_id`` of the current snapshot, or None."""
        ...

    def stats(self) -> Mapping[str, Any]:
        """JSON-ready facts about the index (articles, generation, segments, fields)."""
        ...

    def apply(self, upserts: Sequence[Article], deletes: Sequence[str]) -> WriteReport:
        """Add or replace ``upserts`` and delete ``deletes`` in ONE commit (all or none)."""
        ...


class IndexSource:
    """The source of one :class:`~bnsearch.index.Index` (thread-safe).

    Args:
        index: the index.
        refresh_interval: seconds between looks at the manifest for newer commits.
    """

    def __init__(self, index: Index, *, refresh_interval: float = REFRESH_INTERVAL) -> None:
        self.index = index
        self.refresh_interval = refresh_interval
        self._searcher = index.searcher()
        self._checked = time.monotonic()
        self._refresh_lock = threading.Lock()
        self._write_lock = threading.Lock()

    @property
    def writable(self) -> bool:
        return True

    def searcher(self) -> Any:
        now = time.monotonic()
        if now - self._checked >= self.refresh_interval:
            self._refresh(now)
        return self._searcher

    def _refresh(self, now: float) -> None:
        # one thread looks; the others keep the snapshot they have meanwhile
        if not self._refresh_lock.acquire(blocking=False):
            return
        try:
            self._searcher = self._searcher.refresh()
            self._checked = now
        finally:
            self._refresh_lock.release()

    def article(self, article_id: str) -> Article | None:
        return self.searcher().reader.article(article_id)  # type: ignore[no-any-return]

    def stats(self) -> dict[str, Any]:
        reader = self.searcher().reader
        return {
            "articles": reader.doc_count,
            "generation": reader.generation,
            "segments": len(reader.segments),
            "fields": field_facts(reader.schema, reader.avg_field_length),
        }

    def apply(self, upserts: Sequence[Article], deletes: Sequence[str]) -> WriteReport:
        with self._write_lock, self.index.writer(timeout=WRITE_LOCK_TIMEOUT) as writer:
            for article in upserts:
                writer.add(article)
            for article_id in deletes:
                writer.delete(article_id)
            result = writer.commit()
        with self._refresh_lock:  # this worker's readers see its own write at once
            self._searcher = self._searcher.refresh()
            self._checked = time.monotonic()
        return WriteReport(
            added=result.added,
            replaced=result.replaced,
            deleted=result.deleted,
            generation=result.generation,
            doc_count=result.doc_count,
        )


def field_facts(schema: Schema, average_length: Callable[[str], float]) -> dict[str, Any]:
    """/stats' ``fields``: each field's kind and weight, and a text field's average length
    (``average_length(name)``: one index's or the sharded index's global one)."""
    fields: dict[str, Any] = {}
    for name in schema.names:
        spec = schema[name]
        fields[name] = {
            "kind": "text" if spec.is_text else "keyword",
            "weight": spec.weight,
            **({"average_length": average_length(name)} if spec.is_text else {}),
        }
    return fields


def open_source(
    index: Index | str | os.PathLike[str] | SearcherSource,
    *,
    refresh_interval: float = REFRESH_INTERVAL,
) -> SearcherSource:
    """The source for ``index``: a source as is, an :class:`Index`, or an index folder.

    A sharded index folder (one holding ``shards.json``) gets a
    :class:`~bnsearch.web.sharded.ShardedSource`, searched in this process: this is the
    one place that tells the kinds apart.
    """
    if isinstance(index, Index):
        return IndexSource(index, refresh_interval=refresh_interval)
    if isinstance(index, (str, os.PathLike)):
        if is_sharded(index):
            from bnsearch.web.sharded import ShardedSource

            return ShardedSource(ShardedIndex.open(index), refresh_interval=refresh_interval)
        return IndexSource(Index.open(Path(index)), refresh_interval=refresh_interval)
    if isinstance(index, SearcherSource):
        return index
    raise TypeError(
        f"index must be an Index, an index folder or a SearcherSource, got {type(index).__name__}"
    )
