"""The index writer: upserts and deletes by article id, buffered into new segments.

One writer at a time (the OS lock of :mod:`.lock`). ``add(article)`` replaces any live
article with the same id (in the index or earlier in the batch); ``delete(id)`` removes
it. Articles are analyzed in chunks as they arrive (in worker processes with
``processes > 1``) and flushed into an immutable segment when the buffered text exceeds
``buffer_mb``. Nothing is visible until :meth:`IndexWriter.commit`, which writes the
deletion files, runs the merge policy and atomically replaces the manifest; it returns
what changed as a :class:`CommitResult`. :meth:`IndexWriter.rollback` forgets the batch.

Anchors: an article's ``anchors`` field holds the headlines of live links that resolve to
it under the rule of :mod:`.links`. A first guess is made when the article is analyzed;
at commit the committed link graph (a :class:`~bnsearch.index.links.LinkIndex`, built
once per writer) is updated with the batch, re-resolving only the links whose inputs the
batch changed, and every article whose anchors differ from the resolved ones is
re-indexed from its stored row, so anchors always equal the graph's edges.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np

from bnsearch.articles import Article, RelatedLink
from bnsearch.errors import ArticleError, BnSearchError
from bnsearch.index import faults
from bnsearch.index.directory import Directory, FileInfo, FSDirectory
from bnsearch.index.links import (
    LinkIndex,
    edge_url_index,
    edge_url_keys,
    link_url_key,
    segment_links,
    title_key,
)
from bnsearch.index.lock import WriteLock
from bnsearch.index.manifest import Manifest, SegmentEntry
from bnsearch.index.merge import MergePolicy, merge_segments
from bnsearch.index.reader import IndexReader, read_manifest
from bnsearch.index.schema import Schema
from bnsearch.index.segment import SegmentReader, deletes_name, is_segment_file
from bnsearch.index.store import row_article
from bnsearch.index.workers import LocalBuilder, WorkerBuilder, warm_up

_CHUNK_ARTICLES = 128


@attrs.frozen(kw_only=True)
class CommitResult:
    """What a commit changed.

    ``added``: ids new to the index; ``replaced``: ids that existed and were re-added;
    ``deleted``: ids that existed and were deleted (deleting an absent id counts nothing);
    ``reindexed``: other articles rewritten because their anchors changed.
    """

    added: int
    replaced: int
    deleted: int
    generation: int
    doc_count: int
    reindexed: int = 0
    merged_segments: int = 0


@attrs.define(eq=False)
class _Pending:
    """Articles sent to one builder since its last flush (local doc = list index)."""

    ids: dict[str, int] = attrs.field(factory=dict)
    dead: set[int] = attrs.field(factory=set)
    articles: list[Article | None] = attrs.field(factory=list)  # None: flushed, no links


@attrs.define(eq=False)
class _Working:
    """A segment as the writer sees it: committed or new, plus this batch's deletions."""

    entry: SegmentEntry
    reader: SegmentReader
    new: bool
    dead: set[int] = attrs.field(factory=set)

    def is_live(self, doc: int) -> bool:
        return bool(self.reader.live[doc]) and doc not in self.dead

    def find(self, article_id: str) -> int | None:
        doc = self.reader.find(article_id)
        return None if doc is None or doc in self.dead else doc


def _utf8_estimate(text: str) -> int:
    """UTF-8 size of ``text``, estimated without encoding it: exact for ASCII, 3 bytes a
    character otherwise (exact for Bengali letters, an upper bound for the spaces and
    digits between them)."""
    return len(text) if text.isascii() else 3 * len(text)


def _article_text_size(article: Article) -> int:
    """Estimated UTF-8 bytes of the article's indexed text (what ``buffer_mb`` counts)."""
    size = _utf8_estimate(article.title) + _utf8_estimate(article.body)
    if article.caption:
        size += _utf8_estimate(article.caption)
    return size + sum(_utf8_estimate(link.headline) for link in article.related)


class IndexWriter:
    """Buffered upserts and deletes; use as a context manager (commit on success).

    Not thread-safe: one thread drives a writer. Created by :meth:`Index.writer`.
    """

    def __init__(
        self,
        *,
        directory: Directory,
        schema: Schema,
        lock: WriteLock,
        buffer_mb: float = 128.0,
        processes: int = 1,
        merge_policy: MergePolicy | None = None,
    ) -> None:
        if buffer_mb <= 0:
            raise ValueError(f"buffer_mb must be > 0, got {buffer_mb}")
        if processes < 1:
            raise ValueError(f"processes must be >= 1, got {processes}")
        self._directory = directory
        self._schema = schema
        self._schema_json = json.dumps(schema.to_json(), sort_keys=True)
        self._lock: WriteLock | None = lock
        # per builder: with N processes each worker's segment is as large as one
        # process's would be (same merge work), at N times the buffered text
        self._buffer_limit = int(buffer_mb * 1024 * 1024) * processes
        self._merge_policy = merge_policy if merge_policy is not None else MergePolicy()
        self._builders: list[LocalBuilder | WorkerBuilder] = []
        if processes > 1:
            if not isinstance(directory, FSDirectory):
                raise ValueError(
                    "processes > 1 needs an index on disk (workers open the folder); "
                    "in-memory indexes are written by one process"
                )
            warm_up(schema)  # once here, not once per forked worker
            self._builders = [
                WorkerBuilder(directory.path, self._schema_json) for _ in range(processes)
            ]
        else:
            self._builders = [LocalBuilder(schema)]
        # the committed link graph, kept between commits (None: build when needed)
        self._links: LinkIndex | None = None
        self._next_links: LinkIndex | None = None
        try:
            self._base = IndexReader.open(directory, schema)
            self._remove_unreferenced(self._base.manifest)
        except BaseException:
            self._shutdown()
            raise
        self._reset_batch()

    # -- batch state ------------------------------------------------------------------
    def _reset_batch(self) -> None:
        self._working: list[_Working] = [
            _Working(entry=segment.entry, reader=segment, new=False)
            for segment in self._base.segments
        ]
        self._next_segment = self._base.manifest.next_segment
        self._clear_buffer()
        self._touched: dict[str, bool] = {}
        self._new_names: list[str] = []
        self._new_files: list[str] = []  # deletion files written for this batch
        self._reindexed = 0
        self._published = False
        # segment names are reused after a rollback: the cache lives for one batch
        self._headline_cache: dict[tuple[str, int], list[str]] = {}

    def _clear_buffer(self) -> None:
        # flushes started but not landed: (builder slot, segment name, its articles)
        self._inflight: list[tuple[int, str, _Pending]] = []
        self._fresh_buffer()

    def _fresh_buffer(self) -> None:
        self._pending = [_Pending() for _ in self._builders]
        self._slot = 0
        self._chunk: list[tuple[Article, tuple[str, ...]]] = []
        self._buffer_bytes = 0
        # lookup key -> (buffered articles, doc, link number) of links in the buffer and
        # in flushes not landed yet
        self._buffer_edges: dict[str, list[tuple[_Pending, int, int]]] = {}

    def _check_open(self) -> None:
        if self._lock is None:
            raise BnSearchError("this writer is closed; open a new one with index.writer()")

    @property
    def pending(self) -> int:
        """Articles added in this batch and not yet committed (superseded ones excluded)."""
        flushed = sum(w.reader.max_doc - len(w.dead) for w in self._working if w.new)
        return flushed + sum(len(p.articles) - len(p.dead) for p in self._buffered())

    def _buffered(self) -> list[_Pending]:
        """Articles not in a landed segment: the buffer and flushes in flight."""
        return [*self._pending, *(pending for _, _, pending in self._inflight)]

    # -- adding and deleting ----------------------------------------------------------
    def add(self, article: Article) -> None:
        """Add or replace (by id) one article. Nothing is visible before commit()."""
        self._check_open()
        if not isinstance(article, Article):
            raise ArticleError(
                f"writer.add expects a bnsearch Article, got {type(article).__name__}; build one "
                "with Article(id=..., title=..., body=...) or read them with bnsearch.articles"
            )
        self._touch(article.id)
        self._remove_current(article.id)
        self._append(article, self._anchors_for(article))

    def add_many(self, articles: Iterable[Article]) -> int:
        """Add every article of an iterable; returns how many were added."""
        count = 0
        for article in articles:
            self.add(article)
            count += 1
        return count

    def delete(self, article_id: str) -> bool:
        """Delete the article with this id; True if one was live (in the index or batch)."""
        self._check_open()
        if not isinstance(article_id, str):
            raise ArticleError(f"writer.delete expects an article id (str), got {article_id!r}")
        self._touch(article_id)
        return self._remove_current(article_id)

    def _touch(self, article_id: str) -> None:
        if article_id not in self._touched:
            self._touched[article_id] = self._base.find(article_id) is not None

    def _append(self, article: Article, anchors: tuple[str, ...]) -> None:
        slot = self._slot
        pending = self._pending[slot]
        docno = len(pending.articles)
        pending.articles.append(article)
        pending.ids[article.id] = docno
        for link_no, link in enumerate(article.related):
            for key in self._link_keys(link):
                self._buffer_edges.setdefault(key, []).append((pending, docno, link_no))
        self._chunk.append((article, anchors))
        self._buffer_bytes += _article_text_size(article)
        if len(self._chunk) >= _CHUNK_ARTICLES:
            self._send_chunk()
        if self._buffer_bytes >= self._buffer_limit:
            self.flush(wait=False)  # the segment is built while the next one fills

    @staticmethod
    def _link_keys(link: RelatedLink) -> list[str]:
        """Lookup keys of a buffered link for the first-guess anchors (see _anchors_for)."""
        keys = ["key:" + title_key(link.headline)]
        if link.target_id:
            keys.append("id:" + link.target_id)
        if link.url:
            keys.append("url:" + link_url_key(link.url))
        return keys

    def _send_chunk(self) -> None:
        """Send the open chunk to the current builder; the next chunk goes to the next."""
        if not self._chunk:
            return
        chunk, self._chunk = self._chunk, []
        self._builders[self._slot].add(chunk)
        self._slot = (self._slot + 1) % len(self._builders)

    def _remove_current(self, article_id: str) -> bool:
        """Mark the live copy of ``article_id`` (buffer or segment) as deleted."""
        for pending in self._buffered():
            docno = pending.ids.pop(article_id, None)
            if docno is not None:
                pending.dead.add(docno)
                return True
        for working in reversed(self._working):
            doc = working.find(article_id)
            if doc is not None:
                working.dead.add(doc)
                return True
        return False

    # -- anchors ------------------------------------------------------------------------
    def _is_live(self, article_id: str) -> bool:
        return any(article_id in pending.ids for pending in self._buffered()) or (
            self._live_location(article_id) is not None
        )

    def _guess_points_at(
        self, tid: str, url: str, key: str, article: Article, article_url: str, article_key: str
    ) -> bool:
        """Whether a link seems to resolve to ``article`` (ignoring ambiguity)."""
        if tid:
            if tid == article.id:
                return True
            if self._is_live(tid):
                return False
        if url:
            return url == article_url
        return bool(key) and key == article_key

    def _anchors_for(self, article: Article) -> tuple[str, ...]:
        """A first guess at the anchors of ``article`` from live links (segments, buffer).

        It ignores ambiguity; :meth:`_fix_anchors` corrects it at commit, so a good guess
        only saves re-indexing the article.
        """
        if not self._buffer_edges and not any(len(w.reader.link_src) for w in self._working):
            return ()  # no link anywhere can point at it (the common bulk-load case)
        key = title_key(article.title)
        url = link_url_key(article.url or "")
        found: set[tuple[str, int, str]] = set()
        for working in self._working:
            if not len(working.reader.link_src):
                continue
            table = working.reader.edges()
            edges = set(table.by_tid.get(article.id, ()))
            if key:
                edges.update(table.by_key.get(key, ()))
            if url:
                edges.update(edge_url_index(working.reader).get(url, ()))
            urls = edge_url_keys(working.reader)
            for edge in sorted(edges):
                source = table.src[edge]
                if not working.is_live(source):
                    continue
                source_id = working.reader.article_id(source)
                if source_id == article.id:
                    continue
                if not self._guess_points_at(
                    table.tid[edge],
                    urls[edge],
                    table.key[edge],
                    article,
                    url,
                    key,
                ):
                    continue
                link_no = table.link_no[edge]
                found.add((source_id, link_no, self._headlines(working.reader, source)[link_no]))
        wanted = ["id:" + article.id, "key:" + key] + (["url:" + url] if url else [])
        for lookup in wanted:
            for pending, docno, link_no in self._buffer_edges.get(lookup, ()):
                if docno in pending.dead:
                    continue
                source_article = pending.articles[docno]
                if source_article is None or source_article.id == article.id:
                    continue
                link = source_article.related[link_no]
                if self._guess_points_at(
                    link.target_id or "",
                    link_url_key(link.url or ""),
                    title_key(link.headline),
                    article,
                    url,
                    key,
                ):
                    found.add((source_article.id, link_no, link.headline))
        return tuple(headline for _, _, headline in sorted(found))

    def _live_location(self, article_id: str) -> tuple[_Working, int] | None:
        for working in reversed(self._working):
            doc = working.find(article_id)
            if doc is not None:
                return working, doc
        return None

    def _fix_anchors(self) -> None:
        """Re-index every article whose anchors differ from the resolved graph (after flush).

        The committed graph (a :class:`LinkIndex`, built once per writer and kept between
        commits) is updated with this batch: only links whose source, target id, URL key
        or title key the batch touched are resolved again. Targets whose incoming links
        changed and the articles of the batch (their anchors were guessed) are checked
        against their stored anchors.
        """
        links, self._links = self._links, None  # stays None if anything below fails
        if not self._touched:
            self._next_links = links
            return
        if not any(len(w.reader.link_src) for w in self._working):
            self._next_links = None  # no link anywhere: rebuilt when links appear
            return
        if links is None:
            links = LinkIndex.from_segments([(s, s.live) for s in self._base.segments])
        added = []
        for article_id in self._touched:
            where = self._live_location(article_id)
            if where is not None:
                reader, doc = where[0].reader, where[1]
                added.append(
                    (
                        article_id,
                        reader.title_key_of(doc),
                        link_url_key(reader.url_of(doc)),
                        segment_links(reader, doc),
                    )
                )
        changed = links.update(removed=self._touched, added=added)
        self._next_links = links
        live_touched = {ident for ident, *_ in added}
        fixes: list[tuple[_Working, int, dict[str, Any], tuple[str, ...]]] = []
        for target in sorted(changed | live_touched):
            where = self._live_location(target)
            if where is None:
                continue
            row = where[0].reader.stored(where[1])
            anchors = tuple(self._headline(*ref) for ref in links.incoming_refs(target))
            if anchors != tuple(row["anchors"]):
                fixes.append((where[0], where[1], row, anchors))
        for working, doc, row, anchors in fixes:  # after all lookups: they move docs
            working.dead.add(doc)
            self._append(row_article(row), anchors)
            self._reindexed += 1
        self.flush()

    def _headline(self, source_id: str, link_no: int) -> str:
        where = self._live_location(source_id)
        assert where is not None, source_id
        return self._headlines(where[0].reader, where[1])[link_no]

    def _headlines(self, segment: SegmentReader, doc: int) -> list[str]:
        """Related headlines of a doc, cached (segments never change; reading a stored row
        costs a block's decompression)."""
        key = (segment.name, doc)
        found = self._headline_cache.get(key)
        if found is None:
            if len(self._headline_cache) >= 1 << 16:
                self._headline_cache.clear()
            found = self._headline_cache[key] = segment.related_headlines(doc)
        return found

    # -- flushing -----------------------------------------------------------------------
    def flush(self, *, wait: bool = True) -> None:
        """Write the buffered articles as new (not yet committed) segments, one per builder.

        With ``wait=False`` (the writer's own flushes when the buffer is full) and worker
        processes, the workers build and write while the writer goes on handing out
        articles; the segments land before the next flush, and before commit.
        """
        self._check_open()
        if any(pending.articles for pending in self._pending):
            faults.crash_point("flush-started")
            self._send_chunk()
            self._land()  # a builder has at most one flush in flight
            for slot, builder in enumerate(self._builders):
                if self._pending[slot].articles:
                    name = self._new_segment_name()
                    builder.start_flush(self._directory, name)
                    pending = self._pending[slot]
                    # until it lands, only articles with links are needed (anchor guesses)
                    pending.articles = [
                        a if a is not None and a.related else None for a in pending.articles
                    ]
                    self._inflight.append((slot, name, pending))
            self._fresh_buffer_keeping_edges()
        if wait or not isinstance(self._builders[0], WorkerBuilder):
            self._land()  # one process: the segment is built already

    def _fresh_buffer_keeping_edges(self) -> None:
        edges = self._buffer_edges
        self._fresh_buffer()
        self._buffer_edges = edges  # in-flight articles stay visible to anchor guesses

    def _land(self) -> None:
        """Wait for the flushes in flight and add their segments to the batch."""
        if not self._inflight:
            return
        inflight, self._inflight = self._inflight, []
        for slot, name, pending in inflight:
            files, max_doc, stats = self._builders[slot].finish_flush()
            entry = SegmentEntry(name=name, max_doc=max_doc, files=files, stats=stats)
            reader = SegmentReader(self._directory, entry, self._schema, ordinal=len(self._working))
            self._working.append(_Working(entry=entry, reader=reader, new=True, dead=pending.dead))
        landed = {id(pending) for _, _, pending in inflight}
        if self._buffer_edges:  # landed links are found through the segments now
            self._buffer_edges = {
                key: kept
                for key, entries in self._buffer_edges.items()
                if (kept := [entry for entry in entries if id(entry[0]) not in landed])
            }

    def _new_segment_name(self) -> str:
        name = f"seg-{self._next_segment:06d}"
        self._next_segment += 1
        self._new_names.append(name)
        return name

    # -- commit -------------------------------------------------------------------------
    def commit(self) -> CommitResult:
        """Make the batch durable and visible (atomically); returns what changed.

        A commit with nothing to do (no adds, deletes or due merges) is a no-op and keeps
        the generation.

        If the commit fails (full disk, I/O error), the error is raised, the previous
        commit stays intact and the batch is rolled back.
        """
        self._check_open()
        self._published = False
        try:
            return self._commit()
        except BaseException:
            if not self._published and not self._manifest_moved_on():
                self._discard_new_files()
            else:  # after the rename the new files belong to the commit
                self._base = IndexReader.open(self._directory, self._schema)
            self._reset_batch()
            raise

    def _manifest_moved_on(self) -> bool:
        try:
            return read_manifest(self._directory).generation != self._base.generation
        except BnSearchError:
            return False

    def _commit(self) -> CommitResult:
        self.flush()
        self._fix_anchors()
        generation = self._base.generation + 1
        entries: list[SegmentEntry] = []
        for working in self._working:
            entry = working.entry
            if working.dead:
                entry = self._with_deletes(working, generation)
            if entry.live_count > 0:
                entries.append(entry)
        faults.crash_point("deletes-written")
        if not self._touched and not self._new_names and not self._merge_policy.select(entries):
            # nothing changed: no new generation (readers need not refresh)
            self._links = self._next_links
            return CommitResult(
                added=0,
                replaced=0,
                deleted=0,
                doc_count=self._base.doc_count,
                generation=self._base.generation,
            )
        entries, merged = self._merge(entries, generation)
        manifest = Manifest(
            generation=generation,
            schema=self._schema.to_json(),
            segments=tuple(entries),
            next_segment=self._next_segment,
        )
        counts = {"added": 0, "replaced": 0, "deleted": 0}
        for article_id, existed in self._touched.items():
            exists = self._live_location(article_id) is not None
            if exists:
                counts["replaced" if existed else "added"] += 1
            elif existed:
                counts["deleted"] += 1
        self._directory.write_manifest(manifest.to_bytes())
        self._published = True
        self._links = self._next_links
        faults.crash_point("committed")
        previous = self._base
        reuse = {(s.entry.name, s.entry.deletes): s for s in previous.segments}
        self._base = IndexReader(self._directory, manifest, self._schema, reuse=reuse)
        result = CommitResult(
            generation=generation,
            doc_count=self._base.doc_count,
            reindexed=self._reindexed,
            merged_segments=merged,
            **counts,
        )
        self._reset_batch()
        self._remove_unreferenced(manifest)
        return result

    def _with_deletes(self, working: _Working, generation: int) -> SegmentEntry:
        entry = working.entry
        deleted = np.flatnonzero(~working.reader.live).tolist()
        all_deleted = np.array(sorted(set(deleted) | working.dead), dtype=np.int32)
        name = deletes_name(entry.name, generation)
        self._new_files.append(name)
        info = self._directory.save_array(name, all_deleted)
        files: dict[str, FileInfo] = {
            key: value for key, value in entry.files.items() if key != entry.deletes
        }
        files[name] = info
        return attrs.evolve(entry, deletes=name, del_count=len(all_deleted), files=files)

    def _merge(
        self, entries: list[SegmentEntry], generation: int
    ) -> tuple[list[SegmentEntry], int]:
        """Apply the merge policy until it selects nothing (merges can cascade)."""
        result = list(entries)
        merged_away = 0
        for _ in range(64):
            groups = self._merge_policy.select(result)
            if not groups:
                break
            current = list(result)
            for group in groups:
                members = [current[index] for index in group]
                readers = [SegmentReader(self._directory, entry, self._schema) for entry in members]
                name = self._new_segment_name()
                merged = merge_segments(self._directory, self._schema, readers, name)
                faults.crash_point("merge-written")
                position = result.index(members[0])
                result[position] = merged
                for entry in members[1:]:
                    result.remove(entry)
                merged_away += len(members)
            if self._merge_policy.force_single:
                break
        return result, merged_away

    def optimize(self) -> CommitResult:
        """Commit the batch, then merge every segment into one (deletes dropped)."""
        policy = self._merge_policy
        self._merge_policy = MergePolicy(force_single=True)
        try:
            return self.commit()
        finally:
            self._merge_policy = policy

    # -- rollback and cleanup -------------------------------------------------------------
    def rollback(self) -> None:
        """Forget everything added or deleted since the last commit."""
        self._check_open()
        self._discard_new_files()
        self._reset_batch()

    def _discard_new_files(self) -> None:
        for builder in self._builders:
            builder.discard()  # waits for a flush in flight, drops its result
        self._inflight = []
        for name in self._new_names:
            for file_name in self._directory.list_names():
                if is_segment_file(name, file_name):
                    self._directory.remove(file_name)
        for file_name in self._new_files:
            self._directory.remove(file_name)
        self._new_names = []
        self._new_files = []
        for working in self._working:
            working.dead.clear()

    def _remove_unreferenced(self, manifest: Manifest) -> None:
        """Remove files no commit references (crash leftovers, merged-away segments)."""
        keep = {name for entry in manifest.segments for name in entry.files}
        for name in self._directory.list_names():
            if name.startswith("seg-") and name not in keep:
                # another process may hold it on a platform that forbids removal
                with contextlib.suppress(OSError):
                    self._directory.remove(name)
        for stale in ("meta.json.tmp",):
            if self._directory.exists(stale):
                self._directory.remove(stale)

    def close(self) -> None:
        """Roll back anything uncommitted and release the lock."""
        if self._lock is None:
            return
        try:
            self._discard_new_files()
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        builders, self._builders = self._builders, []
        for builder in builders:
            builder.close()
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        try:
            if exc_type is None:
                self.commit()
        finally:
            self.close()

    def __del__(self) -> None:
        if getattr(self, "_lock", None) is not None:
            with contextlib.suppress(Exception):
                self.close()
