"""The index writer: upserts and deletes by article id, buffered into new segments.

One writer at a time (the OS lock of :mod:`.lock`). ``add(article)`` replaces any live
article with the same id (in the index or earlier in the batch); ``delete(id)`` removes
it. Articles are analyzed in chunks as they arrive (in worker processes with
``processes > 1``) and flushed into an immutable segment when the buffered text exceeds
``buffer_mb``. Nothing is visible until :meth:`IndexWriter.commit`, which writes the
deletion files, runs the merge policy and atomically replaces the manifest; it returns
what changed as a :class:`CommitResult`. :meth:`IndexWriter.rollback` forgets the batch.

Anchors: an article's ``anchors`` field holds the headlines of live links that resolve to
it under the rule of :mod:`bnsearch.articles.links`. A writer opened on an index that
holds articles resolves by key: it notes the keys of every article version that comes or
goes, and reads the links of the batch's state through
:class:`~bnsearch.index.links.SnapshotLinks` (the segments' persisted key maps plus the
buffered articles), so a commit's link work grows with what it touches, not with the
index (:meth:`IndexWriter._lookup_changes` says which articles that is). A writer opened
on an empty index (a bulk build) keeps one :class:`~bnsearch.articles.links.LinkGraph` of
the live articles (built when links first matter, then kept between commits) and puts
each add or delete into it, which re-resolves only the links whose keys the change
touches. A buffered article's anchors are taken from the graph (or the lookups) when
its segment is flushed (the builder analyzes the anchor fields last), so an article and
the pages linking to it in the same batch need no second pass. At commit, after the last
flush, the articles already in segments whose incoming links may have changed are
compared with their stored anchors; each segment holding some
that differ (committed, or flushed earlier in this batch) gets a new anchor update file
(:mod:`.anchorfile`) with their final anchors. A batch of new articles that takes no
link away from a published article appends its links' headlines to their targets'
anchors instead (:meth:`IndexWriter._appended_anchors`: no other in-link of theirs is
resolved; anchors are compared as multisets, :func:`.anchorfile.same_anchors`). No
article is deleted, copied or analyzed again because of a link, and anchors always
equal the graph's edges. The headlines of
the links into a target are read from the linkers' segments' headline tables.

External anchors: a writer opened with ``external_anchors=True`` resolves no links itself;
its articles' anchors are the ones :meth:`IndexWriter.set_anchors` gives (a shard of a
sharded index, whose links resolve over every shard: :mod:`bnsearch.distributed.anchors`),
put in by the same flush and anchor-update paths.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.articles import Article
from bnsearch.articles.links import KeyedArticle, LinkKeys, LinkStatus, article_keys
from bnsearch.articles.model import link_headline
from bnsearch.errors import ArticleError, BnSearchError
from bnsearch.heap import give_back_memory
from bnsearch.index import faults
from bnsearch.index.anchorfile import (
    Analyzed,
    AnchorUpdate,
    MadeUpdate,
    UpdateJob,
    analyzed_groups,
    anchor_specs,
    anchors_stem,
    changed_anchors,
    commit_updates,
    fold_start,
    folded_gains,
    packed_updates,
    update_arrays,
    with_update,
    written_update,
)
from bnsearch.index.builder import no_cycle_collection
from bnsearch.index.directory import MANIFEST_TMP, Directory, FileInfo, FSDirectory
from bnsearch.index.linkmaps import JoinedDocMaps, adopt_maps, joined_members, link_url_key
from bnsearch.index.links import (
    LinkGraph,
    SegmentLinkMaps,
    SnapshotLinks,
    Unstored,
    damaged_ids,
    doc_link_keys,
    graph_from_segments,
)
from bnsearch.index.lock import WriteLock
from bnsearch.index.manifest import Manifest, SegmentEntry, unreferenced
from bnsearch.index.merge import BackgroundMerge, MergePolicy, merge_segments
from bnsearch.index.reader import IndexReader, read_manifest
from bnsearch.index.schema import TEXT, Schema
from bnsearch.index.segment import (
    SegmentReader,
    compound_name,
    deletes_name,
    is_segment_file,
    write_segment,
)
from bnsearch.index.workers import LocalBuilder, WorkerBuilder, warm_up

_CHUNK_ARTICLES = 128
#: Articles whose link keys wait for one bulk graph update (flushes and reads drain sooner).
_GRAPH_QUEUE = 1 << 16
#: :meth:`IndexWriter._live_locations` reads every doc's id when asked for at least
#: 1/_SCAN_FRACTION of the segments' docs (a set lookup a doc against about four
#: method calls an id and segment)
_SCAN_FRACTION = 8
#: IndexWriter.add_many adds this many articles at a time with the collector paused
_ADD_RUN = 1024


@attrs.frozen(kw_only=True)
class CommitResult:
    """What a commit changed.

    ``added``: ids new to the index; ``replaced``: ids that existed and were re-added;
    ``deleted``: ids that existed and were deleted (deleting an absent id counts nothing);
    ``reindexed``: other articles already in segments whose anchors changed (given an
    anchor update, see :mod:`.anchorfile`; nothing else of theirs is rewritten).
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

    def find(self, article_id: str) -> int | None:
        doc = self.reader.find(article_id)
        return None if doc is None or doc in self.dead else doc


def _utf8_estimate(text: str) -> int:
    """UTF-8 size of ``text``, estimated without encoding it: exact for ASCII, 3 bytes a
    character otherwise (exact for Bengali letters, an upper bound for the spaces and
    digits between them)."""
    return len(text) if text.isascii() else 3 * len(text)


def _article_text_size(article: Article) -> int:
    """Estimated UTF-8 bytes of the article's own text: title, body and caption (what
    ``buffer_mb`` counts). Its related headlines are not counted: they are other
    articles' titles (short, each split and looked up once a segment, see
    ``ChunkTable.add_values``), and counting them made a links build flush sooner than
    the same articles without links, into more, smaller segments (one more at 100k)."""
    size = _utf8_estimate(article.title) + _utf8_estimate(article.body)
    if article.caption:
        size += _utf8_estimate(article.caption)
    return size


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
        external_anchors: bool = False,
    ) -> None:
        if buffer_mb <= 0:
            raise ValueError(f"buffer_mb must be > 0, got {buffer_mb}")
        if processes < 1:
            raise ValueError(f"processes must be >= 1, got {processes}")
        self._directory = directory
        self._schema = schema
        # adding anchor updates apply to text anchor fields (anchorfile.AnchorUpdate.adds)
        self._text_anchors = all(spec.kind == TEXT for spec in anchor_specs(schema))
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
        # the live articles' link graph, batch included (None: built when links matter)
        self._links: LinkGraph | None = None
        # a graph update kept the heap's free pages for the next segment build (see
        # _drain_graph): the commit gives them back
        self._heap_kept = False
        # the big segments' title and URL maps joined, kept across commits while the
        # batch holds the same big segments (see _joined_doc_maps)
        self._joined: JoinedDocMaps | None = None
        # the segment lookups the last view made, for the next (see _keep_maps)
        self._made_maps: dict[object, SegmentLinkMaps] = {}
        self._kept_view: tuple[tuple[int, int], SnapshotLinks] | None = None
        self._external = external_anchors
        # a large merge running in a thread (see merge.py), installed by a later commit
        self._background: BackgroundMerge | None = None
        self.merge_error: BaseException | None = None
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
        if self._background is not None:  # its output's name stays reserved
            self._next_segment = max(self._next_segment, _number(self._background.name) + 1)
        self._clear_buffer()
        self._touched: dict[str, bool] = {}
        self._new_names: list[str] = []
        self._new_files: list[str] = []  # deletion files written for this batch
        self._reindexed = 0
        self._published = False
        # articles whose incoming links changed in this batch (their anchors may differ)
        self._anchor_changes: set[str] = set()
        # added articles' link keys not yet in the graph: applied in one bulk update
        # before the graph is read (the array graph's bulk path costs half as much)
        self._graph_queue: list[KeyedArticle] = []
        self._queued_ids: set[str] = set()
        # related headlines of the batch's articles (reading them back from stored rows
        # costs a block's decompression each)
        self._batch_headlines: dict[str, tuple[str, ...]] = {}
        # the anchors a flush of this batch gave each article with some (what its new
        # segment stores: the commit's fix-up compares with them without reading rows)
        self._flushed_anchors: dict[str, tuple[str, ...]] = {}
        # external_anchors: the anchors set_anchors() gave in this batch (None: own graph)
        self._given: dict[str, tuple[str, ...]] | None = {} if self._external else None
        # resolution by key (see _lookup): the batch's articles in no segment yet, and the
        # keys of every version of an article that came or went in this batch: (id, URL
        # key, title key) and its links' keys
        self._unstored: dict[str, Unstored] = {}
        self._changed_keys: list[tuple[str, str, str]] = []
        self._changed_links: list[LinkKeys] = []
        # no version of an article went in this batch (no delete, no upsert): a commit of
        # new articles only may append its links' headlines to their targets' anchors
        self._only_adds = True
        # the last view of the links (_view) and the state it was made in: _state counts
        # the batch's adds and deletes (a landed segment changes len(self._working))
        self._state = 0
        self._keep_maps()
        self._kept_view = None

    def _clear_buffer(self) -> None:
        # flushes started but not landed: (builder slot, segment name, its articles)
        self._inflight: list[tuple[int, str, _Pending]] = []
        self._fresh_buffer()

    def _fresh_buffer(self) -> None:
        self._pending = [_Pending() for _ in self._builders]
        self._slot = 0
        self._chunk: list[tuple[Article, tuple[str, ...]]] = []
        self._chunk_keys: list[KeyedArticle | None] = []  # per article of the chunk
        self._buffer_bytes = 0

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
        self._state += 1
        links = self._graph(needed=bool(article.related))  # before the old version goes
        self._remove_current(article.id)
        headlines = tuple(map(link_headline, article.related))
        lookup = self._lookup()
        # the article's keys, when the links need them (the builder takes them too)
        keyed = article_keys(article) if lookup or links is not None else None
        if lookup:  # before _append, which may flush it
            assert keyed is not None
            ident, key, url, keys = keyed
            self._unstored[ident] = (key, url, tuple(keys), headlines)
            self._changed(ident, key, url, keys)
        self._append(article, keyed)
        if headlines:
            self._batch_headlines[article.id] = headlines
        else:
            self._batch_headlines.pop(article.id, None)
        if links is not None:
            assert keyed is not None
            if article.id in self._queued_ids:  # an upsert of a queued one: keep the order
                self._drain_graph()
            self._graph_queue.append(keyed)
            self._queued_ids.add(article.id)
            if len(self._graph_queue) >= _GRAPH_QUEUE:
                self._drain_graph()

    def add_many(self, articles: Iterable[Article]) -> int:
        """Add every article of an iterable; returns how many were added.

        The articles are taken :data:`_ADD_RUN` at a time and added with Python's cyclic
        garbage collector paused (:func:`~bnsearch.index.builder.no_cycle_collection`):
        a links build's keys, queued articles and in-link refs are many small tuples,
        none in a cycle, which set off young collections every 700 allocations and kept
        full ones scanning everything the caller holds. The caller's iterable runs with
        the collector on (it may make cycles). An article ``add`` refuses (an
        :class:`ArticleError`) stops the call: the articles after it in its run, already
        taken from the iterable, are not added."""
        count = 0
        source = iter(articles)
        while True:
            run: list[Article] = []
            try:
                run.extend(itertools.islice(source, _ADD_RUN))
            finally:  # the iterable failed: the articles it gave before are still added
                with no_cycle_collection():
                    for article in run:
                        self.add(article)
                        count += 1
            if len(run) < _ADD_RUN:
                return count

    def delete(self, article_id: str) -> bool:
        """Delete the article with this id; True if one was live (in the index or batch)."""
        self._check_open()
        if not isinstance(article_id, str):
            raise ArticleError(f"writer.delete expects an article id (str), got {article_id!r}")
        self._touch(article_id)
        self._state += 1
        links = self._graph(needed=False)  # before the article goes
        removed = self._remove_current(article_id)
        if removed and links is not None:
            self._drain_graph()
            self._anchor_changes |= links.update(removed=[article_id])
        return removed

    def _drain_graph(self) -> None:
        """Put the queued articles into the graph (one bulk update); every reader of the
        graph calls this first.

        The update keeps the heap's free pages (its temporaries') for the segment build
        that follows a drain at each flush; the commit gives them back once
        (:meth:`_give_back`). Given back at every drain, a 100k links build faulted
        them in again at each segment build (+129,000 minor faults over a plain
        build's segment builds, none at 20k: one flush)."""
        if self._graph_queue and self._links is not None:
            self._anchor_changes |= self._links.update(added=self._graph_queue, give_back=False)
            # (only a big update would have given them back: a small commit trims nothing)
            self._heap_kept |= self._links.pages_kept()
        self._graph_queue, self._queued_ids = [], set()

    def _give_back(self) -> None:
        """Give the heap's free pages back after the graph updates that kept them."""
        if self._heap_kept:
            self._heap_kept = False
            give_back_memory()

    def _lookup(self) -> bool:
        """True when this writer resolves links by key, through the segments' persisted
        key maps (:mod:`.linkmaps`), instead of keeping a :class:`LinkGraph`: whenever
        the index it opened holds articles (building a graph of them would cost more than
        the batch). A writer on an empty index keeps a graph (a bulk build), and keeps
        it after its commits."""
        return not self._external and self._links is None and self._base.doc_count > 0

    def _changed(self, ident: str, key: str, url: str, links: Sequence[LinkKeys]) -> None:
        """Note a version of an article that came or went in this batch (by key)."""
        self._changed_keys.append((ident, url, key))
        self._changed_links.extend(links)

    def _touch(self, article_id: str) -> None:
        if article_id not in self._touched:
            self._touched[article_id] = self._base.find(article_id) is not None

    def _append(self, article: Article, keyed: KeyedArticle | None) -> None:
        slot = self._slot
        pending = self._pending[slot]
        docno = len(pending.articles)
        pending.articles.append(article)
        pending.ids[article.id] = docno
        self._chunk.append((article, ()))  # the anchors are given at the flush
        self._chunk_keys.append(keyed)
        self._buffer_bytes += _article_text_size(article)
        if len(self._chunk) >= _CHUNK_ARTICLES:
            self._send_chunk()
        if self._buffer_bytes >= self._buffer_limit:
            self.flush(wait=False)  # the segment is built while the next one fills

    def _send_chunk(self) -> None:
        """Send the open chunk to the current builder; the next chunk goes to the next."""
        if not self._chunk:
            return
        chunk, self._chunk = self._chunk, []
        keys, self._chunk_keys = self._chunk_keys, []
        self._builders[self._slot].add(chunk, keys)
        self._slot = (self._slot + 1) % len(self._builders)

    def _remove_current(self, article_id: str) -> bool:
        """Mark the live copy of ``article_id`` (buffer or segment) as deleted (and, when
        resolving by key, note its keys)."""
        lookup = self._lookup()
        for pending in self._buffered():
            docno = pending.ids.pop(article_id, None)
            if docno is not None:
                pending.dead.add(docno)
                self._only_adds = False
                if lookup:
                    key, url, keys, _ = self._unstored.pop(article_id)
                    self._changed(article_id, key, url, keys)
                return True
        for working in reversed(self._working):
            doc = working.find(article_id)
            if doc is not None:
                working.dead.add(doc)
                self._only_adds = False
                if lookup:
                    reader = working.reader
                    url = link_url_key(reader.url_of(doc))
                    keys = doc_link_keys(reader, doc)
                    self._changed(article_id, reader.title_key_of(doc), url, keys)
                return True
        return False

    # -- anchors ------------------------------------------------------------------------
    def set_anchors(self, anchors: Mapping[str, Sequence[str]]) -> None:
        """Give articles (by id) their anchors, decided outside this index; only for a
        writer opened with ``external_anchors=True``. An article has the anchors given
        last in the batch; one given none keeps its stored anchors (a new one has none).
        Like every change, visible at commit."""
        self._check_open()
        if self._given is None:
            raise BnSearchError("set_anchors needs a writer opened with external_anchors=True")
        for article_id, headlines in anchors.items():
            if (
                not isinstance(article_id, str)
                or isinstance(headlines, str)
                or not all(isinstance(h, str) for h in headlines)
            ):
                raise ArticleError(
                    f"anchors are article id -> a sequence of headlines (str); got "
                    f"{article_id!r} -> {headlines!r}"
                )
            self._given[article_id] = tuple(headlines)
            self._anchor_changes.add(article_id)

    def _graph(self, *, needed: bool) -> LinkGraph | None:
        """The live link graph; built (from the segments, after landing the buffer) when
        ``needed`` or when some segment has links, else ``None`` (no link anywhere: an
        index without links never pays for one; nor does one with external anchors)."""
        if self._links is not None or self._external or self._lookup():
            return self._links
        if not needed and not any(len(w.reader.link_src) for w in self._working):
            return None
        self.flush()  # the batch so far into segments, so the graph sees every article
        readers = [w.reader for w in self._working]
        lives = [self._live_mask(w) for w in self._working]
        self._links = graph_from_segments(readers, self._find_live, live=lives)
        return self._links

    @staticmethod
    def _live_mask(working: _Working) -> npt.NDArray[np.bool_]:
        mask: npt.NDArray[np.bool_] = working.reader.live
        if not working.dead:
            return mask
        mask = mask.copy()
        mask[np.fromiter(working.dead, dtype=np.int64, count=len(working.dead))] = False
        return mask

    def _find_live(self, article_id: str) -> tuple[int, int] | None:
        """(working ordinal, doc) of ``article_id`` if it is live in a segment."""
        located = self._live_locations((article_id,))
        return (located[0][0], located[0][1]) if located else None

    def _live_location(self, article_id: str) -> tuple[_Working, int] | None:
        found = self._find_live(article_id)
        return None if found is None else (self._working[found[0]], found[1])

    def _live_locations(self, article_ids: Iterable[str]) -> list[tuple[int, int, str]]:
        """(working ordinal, doc, id) of each of ``article_ids`` that is live in a
        segment (:meth:`_live_location` of many: the newest segment first, each asked
        only for the ids not found in a newer one), in no particular order. Ids
        numbering an eighth of the segments' docs or more (a bulk build's commit: every
        article it added, every target of its links) are found by
        :meth:`_scan_locations` instead."""
        remaining = list(article_ids)
        if len(remaining) * _SCAN_FRACTION >= sum(w.reader.max_doc for w in self._working):
            return self._scan_locations(set(remaining))
        located: list[tuple[int, int, str]] = []
        for ordinal in range(len(self._working) - 1, -1, -1):
            if not remaining:
                break
            find, missing = self._working[ordinal].find, []
            for article_id in remaining:
                doc = find(article_id)
                if doc is None:
                    missing.append(article_id)
                else:
                    located.append((ordinal, doc, article_id))
            remaining = missing
        return located

    def _scan_locations(self, wanted: set[str]) -> list[tuple[int, int, str]]:
        """:meth:`_live_locations` by reading each segment's ids once (one set lookup a
        doc, newest segment first) instead of looking each id up in each segment until
        found (a method call and a numpy scalar read an id and segment)."""
        located: list[tuple[int, int, str]] = []
        for ordinal in range(len(self._working) - 1, -1, -1):
            if not wanted:
                break
            working = self._working[ordinal]
            ids = working.reader.article_ids()
            asked = np.fromiter(map(wanted.__contains__, ids), dtype=np.bool_, count=len(ids))
            docs = np.flatnonzero(asked & self._live_mask(working)).tolist()
            hits = [ids[doc] for doc in docs]
            located.extend(zip([ordinal] * len(docs), docs, hits, strict=True))
            wanted.difference_update(hits)
        return located

    def _anchors(
        self,
        links: LinkGraph | SnapshotLinks | None,
        targets: Sequence[str],
        stored: Sequence[tuple[str, ...]] | None = None,
    ) -> list[tuple[str, ...]]:
        """The headlines of the live links resolving to each of ``targets``, sorted by
        source (external anchors: the ones given, else ``stored``, else none)."""
        if self._given is not None:
            given, kept = self._given, stored or [()] * len(targets)
            return [given.get(target, old) for target, old in zip(targets, kept, strict=True)]
        assert links is not None
        if isinstance(links, SnapshotLinks):  # reads each segment link by its edge
            return [links.incoming_headlines(target) for target in targets]
        runs = links.incoming_ref_runs(targets)
        headline, batch = self._link_headline, self._batch_headlines
        if self._unstored:  # resolving by key: the buffer's versions come first
            names = runs.sources
            picked = list(
                map(headline, map(names.__getitem__, runs.source.tolist()), runs.number.tolist())
            )
        else:
            # a bulk build: nearly every source is the batch's; their headlines one
            # after the other, each ref's found by its place among them (no tuple a ref)
            rows = [row or () for row in map(batch.get, runs.sources)]
            sizes = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
            flat = list(itertools.chain.from_iterable(rows))
            flat.append("")  # the place of a ref read below
            inside = runs.number < sizes[runs.source]  # False: a source of an earlier batch
            places = np.where(inside, (np.cumsum(sizes) - sizes)[runs.source] + runs.number, -1)
            picked = list(map(flat.__getitem__, places.tolist()))
            for ref in np.flatnonzero(~inside).tolist():
                picked[ref] = headline(runs.sources[runs.source[ref]], int(runs.number[ref]))
        bounds = runs.bounds.tolist()
        return [tuple(picked[low:high]) for low, high in itertools.pairwise(bounds)]

    def _link_headline(self, source_id: str, link_no: int) -> str:
        unstored = self._unstored.get(source_id)
        if unstored is not None:  # resolving by key: the version in the buffer
            return unstored[3][link_no]
        headlines = self._batch_headlines.get(source_id)
        if headlines is not None:
            return headlines[link_no]
        for pending in self._buffered():
            docno = pending.ids.get(source_id)
            if docno is not None:
                article = pending.articles[docno]
                assert article is not None, source_id  # kept: it has links
                return article.related[link_no].headline
        where = self._live_location(source_id)
        if where is None:  # the graph was read from these segments: their id tables disagree
            raise damaged_ids(source_id)
        return where[0].reader.link_headline(where[1], link_no)

    def _flush_anchors(self, pending: _Pending, *, final: bool) -> dict[int, tuple[str, ...]]:
        """Anchors of the buffered docs of ``pending`` (by local doc), from the graph;
        none when a writer keeping a graph (a bulk build) flushes before its commit
        (``final``: the commit's flush): articles added later may still link to these
        docs, so their anchors are analyzed once, by the commit's anchor update
        (:meth:`_anchor_fixes`: the graph's changes keep naming them), not at this
        flush and again at the commit."""
        self._drain_graph()
        links: LinkGraph | SnapshotLinks | None = self._links
        if self._lookup():
            links = self._view() if self._has_links() else None
        if links is None and self._given is None:
            return {}
        if not final and links is not None and links is self._links:  # a bulk build's flush
            for article_id in pending.ids:
                self._flushed_anchors.pop(article_id, None)  # it stores none
            return {}
        found = self._anchors(links, list(pending.ids))
        anchors = {}
        for (article_id, docno), own in zip(pending.ids.items(), found, strict=True):
            if own:
                anchors[docno] = self._flushed_anchors[article_id] = own
            else:
                self._flushed_anchors.pop(article_id, None)
        if links is not None:  # flushed with the graph's anchors: a later change re-adds them
            self._anchor_changes.difference_update(pending.ids)
        return anchors

    def _anchor_fixes(self) -> dict[int, tuple[MadeUpdate, tuple[str, ...]]]:
        """The anchor updates of the articles in segments whose stored anchors differ
        from the graph's (or the lookups'): working ordinal -> (the update made, the
        names of the segment's earlier updates it carries over); nothing else of theirs
        is touched.

        Only articles whose incoming links changed in this batch are looked at (the
        graph reports them as changes are put in). Runs before the batch's last flush
        (whose articles get their anchors at that flush), so the segment it builds can
        host the updates (:meth:`_write_anchor_fixes`); no article is deleted, copied or
        analyzed again. A batch of new articles that changes no published link's
        resolution appends its links' headlines to their targets' anchors
        (:meth:`_appended_anchors`) instead of resolving every in-link of each target.
        """
        self._drain_graph()
        links: LinkGraph | SnapshotLinks | None = self._links
        if self._lookup() and self._has_links():
            self._land()
            links = self._view()
            pointing = self._pointing_edges(links)
            appended = self._appended_anchors(links, pointing)
            if appended is not None:
                return self._fixes(appended, None, adds=True)
            self._anchor_changes |= self._lookup_changes(links, pointing)
        if (links is None and self._given is None) or not self._anchor_changes:
            return {}
        self._land()
        # in doc order: neighbours share a stored block (read once, cached); a target not
        # found is deleted, or in the buffer (anchored at its flush)
        located = sorted(self._live_locations(self._anchor_changes))
        targets = [target for _, _, target in located]
        names: dict[int, dict[int, str]] = {}  # working ordinal -> doc -> its article id
        for ordinal, doc, target in located:
            names.setdefault(ordinal, {})[doc] = target
        stored = {ordinal: self._stored_reader(ordinal, docs) for ordinal, docs in names.items()}
        read = None
        if self._given is not None:  # a target given none keeps its stored ones: read them
            read = [_read(stored[ordinal], doc) for ordinal, doc, _ in located]
        found = self._anchors(links, targets, read)
        proposed: dict[int, dict[int, tuple[str, ...]]] = {}
        for (ordinal, doc, _), new in zip(located, found, strict=True):
            proposed.setdefault(ordinal, {})[doc] = new
        return self._fixes(proposed, stored.__getitem__)

    def _fixes(
        self,
        proposed: Mapping[int, Mapping[int, tuple[str, ...]]],
        stored_of: Callable[[int], Callable[[int], tuple[str, ...]] | None] | None,
        *,
        adds: bool = False,
    ) -> dict[int, tuple[MadeUpdate, tuple[str, ...]]]:
        """The anchor updates giving the docs of ``proposed`` (working ordinal -> doc ->
        anchors) those anchors, for the docs whose anchors differ from what they have
        (``stored_of(ordinal)(doc)``, a segment's ``None``: its docs hold none, see
        :meth:`_stored_reader`; ``stored_of`` ``None``: every one differs, see
        :meth:`_appended_anchors`). ``adds``: ``proposed`` holds the headlines each doc
        gains (:meth:`_appended_anchors`), written as an adding update (only they are
        analyzed; ``anchorfile.AnchorUpdate.adds``). When the segment's updates are due
        to be folded and every one folded is an adding update, the new adding update
        carries them over (:func:`.anchorfile.folded_gains`: nothing of the docs read, a
        big update's postings copied, the docs of small ones and a doc gaining in two of
        them analyzed again with this commit's gains, one analysis); a fold
        carrying a replacing update (or a keyword anchor field) writes a replacing
        update (then each doc's anchors are read)."""
        given = self._given is not None
        gained = proposed
        folds: dict[int, tuple[AnchorUpdate, ...]] = {}
        whole: set[int] = set()  # segments whose adds are written as a replacing update
        if adds:
            proposed, folds, whole = self._adding_plan(proposed)
        # every doc changes: one analysis for all that use it
        analyzed = {} if stored_of is not None else self._analyzed_ahead(proposed, whole)
        jobs: dict[int, UpdateJob] = {}  # (made at once: their string tables encoded once)
        for ordinal, docs in sorted(proposed.items()):
            working = self._working[ordinal]
            reader = working.reader
            if stored_of is None:
                changes, found = dict(docs), analyzed.get(ordinal)
            else:
                changes, found = changed_anchors(
                    self._schema,
                    reader,
                    docs,
                    stored_of(ordinal),
                    cheap=given or (working.new and not reader.anchor_updates),
                )
            if not changes:
                continue
            if not working.new:  # (the docs this commit changes, not a fold's others)
                self._reindexed += len(gained[ordinal]) if adds else len(changes)
            if adds and ordinal not in whole:  # (with a fold's: see folded_gains)
                jobs[ordinal] = UpdateJob(folds.get(ordinal, ()), changes, found, adds=True)
            else:
                carried = self._carried(ordinal, len(changes))
                if adds:  # folding (or a keyword anchor field): the docs' whole anchors
                    changes = {d: reader.stored_anchors(d) + new for d, new in changes.items()}
                # a doc an adding update carried holds gets its whole anchors too
                for old in carried:
                    if old.adds:
                        for doc in old.docs.tolist():
                            if doc not in changes:
                                changes[doc] = reader.stored_anchors(doc)
                jobs[ordinal] = UpdateJob(carried, changes, found)
        made = commit_updates(self._schema, list(jobs.values()))
        return {
            ordinal: (update, tuple(old.name for old in job.olds))
            for (ordinal, job), update in zip(jobs.items(), made, strict=True)
        }

    def _adding_plan(
        self, gained: Mapping[int, Mapping[int, tuple[str, ...]]]
    ) -> tuple[
        dict[int, Mapping[int, tuple[str, ...]]], dict[int, tuple[AnchorUpdate, ...]], set[int]
    ]:
        """How the headlines ``gained`` (working ordinal -> doc -> headlines) are
        written: per segment the docs its adding update analyzes and their headlines
        (when a fold is due and every update folded adds, also the docs two of them hold
        and those of small ones: :func:`.anchorfile.folded_gains`), those folds (ordinal
        -> the updates carried), and the segments that get a replacing update instead
        (a fold carrying a replacing update, or a keyword anchor field)."""
        plan: dict[int, Mapping[int, tuple[str, ...]]] = dict(gained)
        folds: dict[int, tuple[AnchorUpdate, ...]] = {}
        whole: set[int] = set()
        for ordinal, docs in gained.items():
            carried = self._carried(ordinal, len(docs))
            if not self._text_anchors or not all(old.adds for old in carried):
                whole.add(ordinal)
            elif carried:
                folds[ordinal] = carried
                plan[ordinal] = folded_gains(carried, docs)
        return plan, folds, whole

    def _carried(self, ordinal: int, changed: int) -> tuple[AnchorUpdate, ...]:
        """The updates of segment ``ordinal`` its next update (of ``changed`` docs)
        carries over (a suffix of them, later wins; none unless they are due to fold:
        :func:`.anchorfile.fold_start`)."""
        olds = self._working[ordinal].reader.anchor_updates
        return tuple(olds[fold_start([len(old.docs) for old in olds], changed) :])

    def _analyzed_ahead(
        self, proposed: Mapping[int, Mapping[int, tuple[str, ...]]], skip: Collection[int]
    ) -> dict[int, Analyzed]:
        """One analysis (:func:`.anchorfile.analyzed_groups`) of the docs of ``proposed``
        (every one changes) for the updates that use it: working ordinal -> its docs'
        arrays. Not the segments ``skip`` (their docs get a replacing update of their
        whole anchors, analyzed then by :func:`.anchorfile.update_arrays`), so their
        gained headlines are not analyzed for nothing."""
        ordinals = [o for o in sorted(proposed) if proposed[o] and o not in skip]
        groups = [[proposed[o][doc] for doc in sorted(proposed[o])] for o in ordinals]
        return {
            ordinal: Analyzed(tuple(sorted(proposed[ordinal])), arrays)
            for ordinal, arrays in zip(ordinals, analyzed_groups(self._schema, groups), strict=True)
        }

    def _appended_anchors(
        self, view: SnapshotLinks, pointing: Mapping[int, set[int]]
    ) -> dict[int, dict[int, tuple[str, ...]]] | None:
        """The headlines the published targets of a batch of new articles gain, found
        without resolving the targets' other in-links or reading their anchors: the
        headlines of the batch's links resolving to each (in the order added, then by
        link number), which go after the target's anchors (an adding update, the anchor
        order rule: ``anchorfile.same_anchors``). Working ordinal -> doc -> headlines.

        ``None`` (work them out again) unless the batch only adds articles (no delete,
        no upsert), all still buffered, and no published article loses a link: adding
        articles changes only the resolution of the live links naming one of their
        keys (``pointing``), and can only turn such a link to an added article or make
        it ambiguous (a lookup finds more, never fewer); so a published target loses
        a link exactly when one of those pointed at it before the batch and does not
        now, and otherwise keeps its in-links and gains only the batch's."""
        if (
            not self._only_adds
            or self._anchor_changes
            or any(working.new for working in self._working)
        ):
            return None
        added = self._unstored.keys()
        named_by: dict[int, tuple[list[int], list[LinkKeys]]] = {}
        for ordinal, edges in pointing.items():
            if edges:  # (most segments hold no link naming the batch's keys)
                ordered = sorted(edges)
                named_by[ordinal] = (ordered, view.maps(ordinal).edges_keys(ordered))
        # every key the resolutions below ask for, looked up in one pass over the segments
        view.prefetch(
            itertools.chain(
                itertools.chain.from_iterable(named for _, named in named_by.values()),
                itertools.chain.from_iterable(keys for _, _, keys, _ in self._unstored.values()),
            )
        )
        for ordinal, (ordered, named_keys) in named_by.items():
            segment = self._working[ordinal].reader
            src = segment.link_src
            for edge, named in zip(ordered, named_keys, strict=True):
                source = segment.article_id(int(src[edge]))
                before = view.resolve_before(source, named, added)
                if before.status is LinkStatus.RESOLVED and (
                    view.resolve(source, named).target != before.target
                ):
                    return None  # a published target loses this link
        gained: dict[str, list[str]] = {}
        for source, (_, _, keys, headlines) in self._unstored.items():
            for number, link in enumerate(keys):
                found = view.resolve(source, link)
                target = found.target
                if found.status is LinkStatus.RESOLVED and target and target not in self._unstored:
                    gained.setdefault(target, []).append(headlines[number])
        proposed: dict[int, dict[int, tuple[str, ...]]] = {}
        for target, gains in gained.items():
            where = view.locate(target)  # (found already by the lookups that resolved it)
            if where is None:  # resolved, not unstored: live in a segment
                raise damaged_ids(target)
            proposed.setdefault(where[0], {})[where[1]] = tuple(gains)
        return proposed

    def _has_links(self) -> bool:
        """Whether any link is in the batch or the segments (else no article has anchors)."""
        return bool(self._changed_links) or any(len(w.reader.link_src) for w in self._working)

    def _view(self) -> SnapshotLinks:
        """The links of the batch's current state, resolved on demand by key (one view
        while the state holds: a commit's anchor fix-up and its last flush share it)."""
        state = (self._state, len(self._working))
        if self._kept_view is not None and self._kept_view[0] == state:
            return self._kept_view[1]
        readers = [w.reader for w in self._working]
        lives = [self._live_mask(w) for w in self._working]
        joined = self._joined_doc_maps(readers)
        self._keep_maps()
        view = SnapshotLinks(
            readers,
            self._find_live,
            live=lives,
            unstored=self._unstored,
            joined=joined,
            made=self._made_maps,
        )
        self._kept_view = (state, view)
        return view

    def _keep_maps(self) -> None:
        """Keep the segment lookups the last view made (:meth:`.SnapshotLinks.made_maps`)
        for the next view, of this batch or the next: the segments a commit leaves as
        they are need not make theirs again. Only those of segments in the batch are
        kept (a segment merged away is not held open by them)."""
        made = self._kept_view[1].made_maps() if self._kept_view is not None else self._made_maps
        current = {working.reader.arrays_key for working in self._working}
        self._made_maps = {key: maps for key, maps in made.items() if key in current}

    def _joined_doc_maps(self, readers: Sequence[SegmentReader]) -> JoinedDocMaps | None:
        """The title and URL maps of the big segments among ``readers`` joined
        (:class:`.linkmaps.JoinedDocMaps`: one table a commit's key lookups search for
        them all): the one kept from earlier commits while it holds the same segments'
        arrays (a one-article commit's merges leave the big segments as they are),
        else a new one (a merge replaced one of them, a rollback, another writer's
        commit); ``None`` when no segment is big."""
        members = [readers[at] for at in joined_members(readers)]
        if not members:
            self._joined = None
        elif self._joined is None or not self._joined.holds(members):
            self._joined = JoinedDocMaps(members)
        return self._joined

    def _pointing_edges(self, view: SnapshotLinks) -> dict[int, set[int]]:
        """Per segment (working ordinal): its live links naming an id, URL key or title
        key of an article version that came or went in this batch."""
        pointing: dict[int, set[int]] = {}
        keys = set(self._changed_keys)
        for ordinal, working in enumerate(self._working):
            if not len(working.reader.link_src):
                continue
            maps = view.maps(ordinal)  # made once per state, shared with the resolution
            src, live = working.reader.link_src, view.live[ordinal]
            edges: set[int] = set()
            for ident, url, key in keys:
                edges |= maps.edges_pointing_at(ident, url, key)
            pointing[ordinal] = {edge for edge in edges if live[int(src[edge])]}
        view.note_pointing(keys, pointing)  # (the flush's in-links of the batch's articles)
        return pointing

    def _lookup_changes(self, view: SnapshotLinks, pointing: Mapping[int, set[int]]) -> set[str]:
        """The live articles whose anchors this batch may have changed (when resolving by
        key): every live article matching a key (target id, URL key, title key) of an
        affected link. The affected links are the links of every version of an article
        that came or went in the batch, and the live links naming such a version's id,
        URL key or title key (``pointing``, :meth:`_pointing_edges`): a link's resolution
        changes only when a lookup of one of its keys does, and an article's anchors only
        when a link resolving to it before or after does (it matches one of that link's
        keys either way)."""
        affected = set(self._changed_links)
        for ordinal, edges in pointing.items():
            maps = view.maps(ordinal)
            affected.update(maps.edge_keys(edge) for edge in edges)
        view.prefetch(affected)  # every key below looked up in one pass over the segments
        found: set[str] = set()
        for key, url, target_id in affected:
            if target_id and view.is_live(target_id):
                found.add(target_id)
            for lookup, value in ((view.by_url, url), (view.by_title, key)):
                if value:
                    found.update(lookup.get(value, ()))
        return found

    def _stored_reader(
        self, ordinal: int, names: Mapping[int, str]
    ) -> Callable[[int], tuple[str, ...]] | None:
        """The stored anchors of segment ``ordinal``'s docs of ``names`` (doc -> article
        id), by doc: a segment of this batch with no update yet has the ones its flush
        gave (a dict made once, not a reader's call a doc; ``None`` when its flush gave
        none of them any, as a bulk build's earlier flushes give none: nothing to compare,
        see :func:`.anchorfile.changed_anchors`), any other segment its stored rows',
        read when asked."""
        working = self._working[ordinal]
        if working.new and not working.reader.anchor_updates:  # as its flush gave them
            flushed = self._flushed_anchors
            if flushed.keys().isdisjoint(names.values()):
                return None
            return {doc: flushed.get(name, ()) for doc, name in names.items()}.__getitem__
        return working.reader.stored_anchors

    def _hosted_fixes(
        self, fixes: Mapping[int, tuple[MadeUpdate, tuple[str, ...]]], generation: int
    ) -> dict[str, Any]:
        """The arrays of ``fixes`` as the commit's new segment holds them: one array
        packing every update (:func:`.anchorfile.packed_updates`)."""
        names = {ordinal: self._working[ordinal].entry.name for ordinal in fixes}
        return packed_updates({names[o]: made.arrays for o, (made, _) in fixes.items()}, generation)

    def _write_anchor_fixes(
        self,
        fixes: Mapping[int, tuple[MadeUpdate, tuple[str, ...]]],
        generation: int,
        host: str | None,
    ) -> None:
        """List each anchor update of ``fixes`` with its segment's files: in the compound
        file of ``host`` (the commit's new segment, which holds them already), else in a
        new file of its own per segment; then take each segment under its update, made
        from the arrays written, not read again (:func:`.anchorfile.written_update`,
        ``SegmentReader.with_written_update``: the one update is known, the entry's
        files are not scanned for it)."""
        hosted = None
        described: dict[str, str] = {}  # (a commit's hosted updates share one file)
        if host is not None:
            (found,) = (w for w in self._working if w.entry.name == host)
            hosted = {compound_name(host): found.entry.files[compound_name(host)]}
        for ordinal, (made, replace) in fixes.items():
            working = self._working[ordinal]
            files = hosted
            if files is None:
                stem = anchors_stem(working.entry.name, generation)
                files = write_segment(self._directory, stem, {"arrays": made.arrays})
                if not working.new:  # a new segment's files go with its name on a rollback
                    self._new_files.extend(files)
            (name,) = files
            self._state += 1  # its reader changes
            working.entry = with_update(working.entry, name, files, replace=replace)
            where = described.get(name)
            if where is None:
                where = described[name] = self._directory.describe(name)
            reader = working.reader
            update = written_update(
                self._directory,
                name,
                self._schema,
                reader.name,
                reader.max_doc,
                generation,
                made.arrays,
                made.strings,
                described=where,
            )
            working.reader = reader.with_written_update(working.entry, ordinal, update)

    # -- flushing -----------------------------------------------------------------------
    def flush(self, *, wait: bool = True) -> None:
        """Write the buffered articles as new (not yet committed) segments, one per builder.

        With ``wait=False`` (the writer's own flushes when the buffer is full) and worker
        processes, the workers build and write while the writer goes on handing out
        articles; the segments land before the next flush, and before commit.
        """
        self._check_open()
        self._flush(wait=wait)

    def _flush(
        self, *, wait: bool, extra: Mapping[str, Any] | None = None, final: bool = False
    ) -> str | None:
        """:meth:`flush`; the first segment it builds also holds the arrays ``extra``
        (returns its name; ``None`` when nothing was buffered); ``final``: the commit's
        flush (see :meth:`_flush_anchors`)."""
        host = None
        if any(pending.articles for pending in self._pending):
            faults.crash_point("flush-started")
            self._send_chunk()
            self._land()  # a builder has at most one flush in flight
            for slot, builder in enumerate(self._builders):
                if self._pending[slot].articles:
                    name = self._new_segment_name()
                    pending = self._pending[slot]
                    anchors = self._flush_anchors(pending, final=final)
                    builder.start_flush(self._directory, name, anchors, None if host else extra)
                    host = host or name
                    # until it lands, only articles with links are needed (anchor guesses)
                    pending.articles = [
                        a if a is not None and a.related else None for a in pending.articles
                    ]
                    self._inflight.append((slot, name, pending))
            self._fresh_buffer()
        if wait or not isinstance(self._builders[0], WorkerBuilder):
            self._land()  # one process: the segment is built already
        return host

    def _land(self) -> None:
        """Wait for the flushes in flight and add their segments to the batch."""
        if not self._inflight:
            return
        inflight, self._inflight = self._inflight, []
        for slot, name, pending in inflight:
            files, max_doc, stats = self._builders[slot].finish_flush()
            for article_id in pending.ids:  # in a segment now
                self._unstored.pop(article_id, None)
            entry = SegmentEntry(name=name, max_doc=max_doc, files=files, stats=stats)
            reader = SegmentReader(self._directory, entry, self._schema, ordinal=len(self._working))
            builder = self._builders[slot]
            if isinstance(builder, LocalBuilder):  # its link maps, as it wrote them
                adopt_maps(reader, builder.landed_maps())
            self._working.append(_Working(entry=entry, reader=reader, new=True, dead=pending.dead))

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
            result = self._commit()
        except BaseException:
            if not self._published and not self._manifest_moved_on():
                self._discard_new_files()
            else:  # after the rename the new files belong to the commit
                self._base = IndexReader.open(self._directory, self._schema)
            self._links = None  # rebuilt from the segments when next needed
            self._reset_batch()
            raise
        finally:
            self._give_back()
        try:  # the batch is committed: a failed install only leaves the inputs as they are
            self._install_background(wait=False)
        except Exception as error:
            self.merge_error = error
        self._start_background()
        return result

    def _manifest_moved_on(self) -> bool:
        try:
            return read_manifest(self._directory).generation != self._base.generation
        except BnSearchError:
            return False

    def _commit(self) -> CommitResult:
        generation = self._base.generation + 1
        fixes = self._anchor_fixes()
        # buffered articles take their anchors here; their segment hosts the updates
        host = self._flush(wait=True, extra=self._hosted_fixes(fixes, generation), final=True)
        self._write_anchor_fixes(fixes, generation, host)
        entries: list[SegmentEntry] = []
        for working in self._working:
            entry = working.entry
            if working.dead:
                entry = self._with_deletes(working, generation)
            if entry.live_count > 0:
                entries.append(entry)
        faults.crash_point("deletes-written")
        changed = self._touched or self._new_names or self._new_files  # files: anchor updates
        if not changed and not self._inline_merges(entries):
            # nothing changed: no new generation (readers need not refresh)
            return CommitResult(
                added=0,
                replaced=0,
                deleted=0,
                doc_count=self._base.doc_count,
                generation=self._base.generation,
            )
        entries, merged = self._merge(entries, generation)
        counts = {"added": 0, "replaced": 0, "deleted": 0}
        live = {article_id for _, _, article_id in self._live_locations(self._touched)}
        for article_id, existed in self._touched.items():
            if article_id in live:
                counts["replaced" if existed else "added"] += 1
            elif existed:
                counts["deleted"] += 1
        reindexed = self._reindexed
        self._publish(entries, generation)
        return CommitResult(
            generation=generation,
            doc_count=self._base.doc_count,
            reindexed=reindexed,
            merged_segments=merged,
            **counts,
        )

    def _publish(self, entries: Sequence[SegmentEntry], generation: int) -> None:
        """Write the manifest of ``entries`` (the commit point), read it with the batch's
        readers reused, and start an empty batch on it."""
        manifest = Manifest(
            generation=generation,
            schema=self._schema.to_json(),
            segments=tuple(entries),
            next_segment=self._next_segment,
        )
        self._directory.write_manifest(manifest.to_bytes())
        self._published = True
        faults.crash_point("committed")
        previous = self._base
        reuse = {(s.entry.name, s.entry.deletes): s for s in previous.segments}
        # the batch's readers too: its new segments and anchor updates were read already
        reuse.update({(w.entry.name, w.entry.deletes): w.reader for w in self._working})
        self._base = IndexReader(self._directory, manifest, self._schema, reuse=reuse)
        self._reset_batch()
        self._remove_unreferenced(manifest)

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
            groups = self._inline_merges(result)
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

    def _busy(self) -> frozenset[str]:
        return self._background.inputs if self._background is not None else frozenset()

    def _inline_merges(self, entries: Sequence[SegmentEntry]) -> list[list[int]]:
        """The merges the policy selects that run inside this commit (the others wait
        for :meth:`_start_background`, after the commit)."""
        policy = self._merge_policy
        groups = policy.select(entries, self._busy())
        return [group for group in groups if not policy.in_background(entries, group)]

    # -- background merges (see merge.py) ---------------------------------------------------
    def _start_background(self) -> None:
        """Start the first large merge the policy selects on the committed segments, in
        a thread (one at a time)."""
        if self._background is not None:
            return
        policy, entries = self._merge_policy, self._base.manifest.segments
        for group in policy.select(entries):
            if policy.in_background(entries, group):
                name = f"seg-{self._next_segment:06d}"
                self._next_segment += 1
                members = [entries[index] for index in group]
                self._background = BackgroundMerge(self._directory, self._schema, members, name)
                return

    def _install_background(self, *, wait: bool) -> None:
        """Install a finished background merge as a commit of its own (the batch is
        empty): the merged segment takes its inputs' place, with the deletions and
        anchor updates they received since it started. ``wait``: wait for it to finish.
        A merge that failed is dropped (its files removed, the error kept in
        :attr:`merge_error`); its inputs stay as they are."""
        merge = self._background
        if merge is None or not (wait or merge.done()):
            return
        merge.wait()
        self._background = None
        # in the place of its first input still listed (none: they lost every doc)
        ordinal = next(
            (at for at, w in enumerate(self._working) if w.entry.name in merge.inputs), None
        )
        if merge.entry is None or ordinal is None:  # failed, or nothing left to install
            self.merge_error = merge.error or self.merge_error
            self._remove_unreferenced(self._base.manifest)
            return
        generation = self._base.generation + 1
        current = {segment.name: segment for segment in self._base.segments}
        deleted, anchors = merge.since(current)
        kept = [w for w in self._working if w.entry.name not in merge.inputs]
        self._new_names.append(merge.name)  # in the batch now: removed if not installed
        self._published = False
        try:
            assert merge.reader is not None
            reader = merge.reader.with_deletes(self._directory, merge.entry, ordinal)
            installed = _Working(entry=merge.entry, reader=reader, new=False, dead=set(deleted))
            working = [*kept[:ordinal], installed, *kept[ordinal:]]
            self._working = working
            if anchors:
                fixes = {ordinal: (MadeUpdate(update_arrays(self._schema, (), anchors)), ())}
                self._write_anchor_fixes(fixes, generation, None)
            entries = []
            for old in working:
                entry = self._with_deletes(old, generation) if old.dead else old.entry
                if entry.live_count > 0:
                    entries.append(entry)
            self._publish(entries, generation)
        except BaseException:
            if not self._published and not self._manifest_moved_on():
                self._discard_new_files()
            else:
                self._base = IndexReader.open(self._directory, self._schema)
            self._reset_batch()
            raise

    def optimize(self) -> CommitResult:
        """Commit the batch, then merge every segment into one (deletes dropped)."""
        if self._background is not None:  # its inputs are merged, then everything
            self.commit()
            self._install_background(wait=True)
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
        self._links = None  # it held the batch: rebuilt from the segments when next needed
        self._reset_batch()
        self._give_back()

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
        merge = self._background
        for name in unreferenced(manifest, self._directory.list_names()):
            if name == MANIFEST_TMP:
                self._directory.remove(name)
            elif merge is None or not (name in merge.files or is_segment_file(merge.name, name)):
                # (a running merge keeps its inputs' files and the segment it writes);
                # another process may hold it on a platform that forbids removal
                with contextlib.suppress(OSError):
                    self._directory.remove(name)

    def close(self) -> None:
        """Roll back anything uncommitted and release the lock."""
        if self._lock is None:
            return
        try:
            self._discard_new_files()
            self._reset_batch()
            self._install_background(wait=True)
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


def _number(segment: str) -> int:
    """The number of a segment name ``seg-NNNNNN``."""
    return int(segment.removeprefix("seg-"))


def _read(stored: Callable[[int], tuple[str, ...]] | None, doc: int) -> tuple[str, ...]:
    """A doc's stored anchors by a :meth:`IndexWriter._stored_reader` (``None``: none)."""
    return () if stored is None else stored(doc)
