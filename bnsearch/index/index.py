"""The :class:`Index` facade: create, open or make in memory; writers, readers, searchers.

::

    index = Index.create("news.idx")                # or Index.open(path), Index.in_memory()
    with index.writer() as writer:                  # one writer at a time (OS lock)
        writer.add(article)                         # upsert by article.id
        writer.delete("old-id")
    # commit happened on a clean exit; an exception rolled the batch back
    reader = index.reader()                         # a fixed snapshot; reader.refresh()
    searcher = index.searcher()                     # bnsearch.search.Searcher(reader)

Opening takes no lock and needs only read access. Opening a damaged or foreign folder
raises :class:`IndexFormatError`; an index built with other analyzers raises
:class:`AnalyzerMismatchError`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from bnsearch.errors import IndexFormatError
from bnsearch.index.directory import LOCK_FILE, Directory, FSDirectory, MemoryDirectory
from bnsearch.index.lock import FileWriteLock, MemoryWriteLock, WriteLock
from bnsearch.index.manifest import Manifest
from bnsearch.index.merge import MergePolicy
from bnsearch.index.reader import IndexReader, read_manifest, schema_for
from bnsearch.index.schema import Schema, news_schema
from bnsearch.index.writer import IndexWriter

if TYPE_CHECKING:
    from bnsearch.search import Searcher


class Index:
    """A bnsearch index on disk or in memory. Build one with the class methods."""

    def __init__(self, *, directory: Directory, schema: Schema, path: Path | None) -> None:
        self.directory = directory
        self.schema = schema
        self.path = path

    def __repr__(self) -> str:
        where = str(self.path) if self.path is not None else "<memory>"
        return f"Index({where!r}, fields={list(self.schema.names)})"

    # -- construction -------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], *, schema: Schema | None = None) -> Index:
        """Create an empty index in folder ``path`` (made if missing; must hold no index)."""
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise IndexFormatError(f"{folder}: exists and is not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        directory = FSDirectory(folder)
        chosen = schema if schema is not None else news_schema()
        lock = FileWriteLock(folder / LOCK_FILE)
        try:
            if directory.read_manifest() is not None:
                raise IndexFormatError(
                    f"{folder}: an index already exists here; use Index.open(path)"
                )
            directory.write_manifest(Manifest(generation=0, schema=chosen.to_json()).to_bytes())
        finally:
            lock.release()
        return cls(directory=directory, schema=chosen, path=folder)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, schema: Schema | None = None) -> Index:
        """Open an existing index (read-only access is enough; takes no lock).

        ``schema`` may be given to change field weights; its fields and analyzers must
        match the index's.
        """
        folder = Path(path)
        if not folder.is_dir():
            raise IndexFormatError(f"{folder}: no such index folder")
        directory = FSDirectory(folder)
        manifest = read_manifest(directory)
        resolved = schema_for(manifest, schema, where=directory.describe("meta.json"))
        return cls(directory=directory, schema=resolved, path=folder)

    @classmethod
    def in_memory(cls, *, schema: Schema | None = None) -> Index:
        """An index held in memory (tests, small jobs); gone when the object is."""
        directory = MemoryDirectory()
        chosen = schema if schema is not None else news_schema()
        directory.write_manifest(Manifest(generation=0, schema=chosen.to_json()).to_bytes())
        return cls(directory=directory, schema=chosen, path=None)

    # -- use ----------------------------------------------------------------------------
    def writer(
        self,
        *,
        timeout: float = 0.0,
        buffer_mb: float = 128.0,
        processes: int = 1,
        merge_policy: MergePolicy | None = None,
        external_anchors: bool = False,
    ) -> IndexWriter:
        """The single writer (a context manager: commit on clean exit, rollback on error).

        Args:
            timeout: seconds to wait for another writer to finish before raising
                :class:`IndexLockedError`.
            buffer_mb: UTF-8 megabytes of article text (titles, bodies, captions; not
                related headlines) buffered per process before a segment is flushed (each
                process's peak memory is roughly 5x this). The size is estimated from
                character counts (3 bytes a character in non-ASCII text), so Bengali text
                fills it about 10% sooner than its exact size.
            processes: analysis worker processes (``> 1`` for large batches).
            merge_policy: segment merge settings (default :class:`MergePolicy`).
            external_anchors: the writer resolves no links; the anchors of articles are
                what :meth:`IndexWriter.set_anchors` gives (a sharded index's shards).
        """
        lock = self._lock(timeout)
        try:
            return IndexWriter(
                directory=self.directory,
                schema=self.schema,
                lock=lock,
                buffer_mb=buffer_mb,
                processes=processes,
                merge_policy=merge_policy,
                external_anchors=external_anchors,
            )
        except BaseException:
            lock.release()
            raise

    def _lock(self, timeout: float) -> WriteLock:
        if isinstance(self.directory, MemoryDirectory):
            return MemoryWriteLock(self.directory.write_lock, timeout=timeout)
        assert self.path is not None
        return FileWriteLock(self.path / LOCK_FILE, timeout=timeout)

    def reader(self) -> IndexReader:
        """A reader on the newest commit; it keeps that snapshot until ``refresh()``."""
        return IndexReader.open(self.directory, self.schema)

    def searcher(self) -> Searcher:
        """``bnsearch.search.Searcher(index.reader())``: search the newest commit.

        For ranking options build one yourself: ``Searcher(index.reader(), params=...)``.
        """
        from bnsearch.search import Searcher

        return Searcher(self.reader())

    @property
    def doc_count(self) -> int:
        """Live articles in the newest commit."""
        return read_manifest(self.directory).doc_count

    @property
    def generation(self) -> int:
        """Generation number of the newest commit (0 for a new, empty index)."""
        return read_manifest(self.directory).generation
