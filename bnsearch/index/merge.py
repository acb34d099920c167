"""Segment merges: the policy that picks them and the numpy merge itself.

Policy (:class:`MergePolicy`): segments are grouped in size tiers (live docs, tiers
``merge_factor`` apart, everything below ``floor_docs`` x ``merge_factor`` in tier 0); when
a tier holds ``merge_factor`` segments they are merged into one: the tier's smallest
``merge_factor``, unless one of them has more than ``merge_factor`` times the live docs of
the smaller ones together. Then those smaller ones wait (too small to merge with it: the
merge would rewrite the large one for a few docs) and the group is taken again from that
member on; the small segments merge among themselves and reach the large one's size by
themselves. Without that rule, one-article commits into a 10k index rewrote the 10k
segment with seven one-doc segments every eighth commit (about 1,400 docs merged per
article, in a simulation of 300 commits; 7 with it), and seven segments of 15k were
rewritten whole by the first commit after them. (Lucene's TieredMergePolicy also avoids
skewed merges, by scoring candidate merges by the largest member's share; this is a
simpler cut.) A segment with more than
``max_deleted_ratio`` of its docs deleted is rewritten on its own. Merges never produce a
segment above ``max_merged_docs`` (bounds the RAM a merge needs: roughly 12 GB per
million news articles, so 500,000 by default). ``force_single`` merges
everything into one segment (``writer.optimize()``).

Where a merge runs: a merge of fewer than ``background_docs`` live docs runs inside the
commit that selects it (at most a tier-0 merge of small segments: milliseconds to a
second); a larger one (a tier merge of 100k-500k docs takes minutes) would hold a
one-article commit that long, so it runs in a thread of the writer
(:class:`BackgroundMerge`, one at a time) on committed segments, while commits go on.
When it is done, the writer's next commit installs it as a commit of its own: the merged
segment replaces its inputs, with the deletions and anchor updates those inputs received
meanwhile carried over (:meth:`BackgroundMerge.since`). ``background_docs=None`` runs
every merge inside the commit (as before).

Merge (:func:`merge_segments`): deleted docs are dropped and the rest renumbered in
segment order; per field, the sorted union of the terms is built once and the postings,
term frequencies and positions of all inputs are concatenated and reordered with one
stable argsort by term. Stored blocks without deletions are copied as they are (the
others decompressed, filtered and recompressed); no analysis is repeated.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.index import blockmax, faults, wordspans
from bnsearch.index.directory import Directory
from bnsearch.index.linkmaps import merged_maps
from bnsearch.index.manifest import SegmentEntry
from bnsearch.index.postings import combine_fields
from bnsearch.index.schema import TEXT, Schema
from bnsearch.index.segment import LINK_HEADLINES, SegmentReader, write_segment
from bnsearch.index.store import StoreWriter

Array = npt.NDArray[Any]


@attrs.frozen(kw_only=True)
class MergePolicy:
    """Which segments to merge after a commit (see module docstring)."""

    merge_factor: int = attrs.field(default=8, validator=attrs.validators.ge(2))
    floor_docs: int = attrs.field(default=2_000, validator=attrs.validators.ge(1))
    max_merged_docs: int = attrs.field(default=500_000, validator=attrs.validators.ge(1))
    max_deleted_ratio: float = 0.3
    force_single: bool = False
    background_docs: int | None = attrs.field(default=10_000)

    @background_docs.validator
    def _check_background_docs(self, _: object, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError(f"background_docs must be >= 1 or None, got {value}")

    def in_background(self, entries: Sequence[SegmentEntry], group: Sequence[int]) -> bool:
        """Whether the merge of ``group`` (indices into ``entries``) runs in a thread
        instead of inside the commit (see the module docstring)."""
        if self.force_single or self.background_docs is None:
            return False
        return sum(entries[i].live_count for i in group) >= self.background_docs

    def select(
        self, entries: Sequence[SegmentEntry], busy: Collection[str] = ()
    ) -> list[list[int]]:
        """Groups of indices into ``entries`` to merge (each group becomes one segment);
        segments named in ``busy`` (a background merge's inputs) are left out."""
        if busy:
            free = [index for index, entry in enumerate(entries) if entry.name not in busy]
            picked = self.select([entries[index] for index in free])
            return [[free[index] for index in group] for group in picked]
        if self.force_single:
            if len(entries) > 1 or (entries and entries[0].del_count):
                return [list(range(len(entries)))]
            return []
        groups: list[list[int]] = []
        used: set[int] = set()
        tiers: dict[int, list[int]] = {}
        for index, entry in enumerate(entries):
            if entry.max_doc and entry.del_count / entry.max_doc > self.max_deleted_ratio:
                groups.append([index])
                used.add(index)
                continue
            size = max(entry.live_count, self.floor_docs)
            tier = int(math.log(size / self.floor_docs, self.merge_factor) + 1e-9)
            tiers.setdefault(tier, []).append(index)
        for tier in sorted(tiers):
            members = sorted(tiers[tier], key=lambda i: entries[i].live_count)
            while len(members) >= self.merge_factor:
                group = members[: self.merge_factor]
                skewed = self._outweighing(entries, group)
                if skewed:  # the smaller ones wait: too small to merge with it
                    members = members[skewed:]
                    continue
                members = members[self.merge_factor :]
                while (
                    len(group) > 1
                    and sum(entries[i].live_count for i in group) > self.max_merged_docs
                ):
                    group.pop()  # the largest: keep the merge under max_merged_docs
                if len(group) < 2:
                    break
                groups.append(sorted(group))
        return groups

    def _outweighing(self, entries: Sequence[SegmentEntry], group: Sequence[int]) -> int:
        """The position in ``group`` (ascending live counts) of the first member with
        more than ``merge_factor`` times the live docs of all before it together (0: none
        does; the group is balanced enough to merge)."""
        before = 0
        for position, index in enumerate(group):
            size = entries[index].live_count
            if position and size > self.merge_factor * before:
                return position
            before += size
        return 0


def _merge_field(
    name: str,
    text: bool,
    positions: bool,
    readers: Sequence[SegmentReader],
    remaps: Sequence[Array],
    max_doc: int,
) -> tuple[dict[str, Any], dict[str, int]]:
    # form flags survive a merge (a segment written before they existed contributes 0s);
    # inputs are in (segment, doc) order already
    sources = [
        (reader._field(name), reader.terms(name), remap)
        for reader, remap in zip(readers, remaps, strict=True)
    ]
    arrays_out, tokens = combine_fields(sources, max_doc=max_doc, text=text, positions=positions)
    if text:  # word spans, copied doc by doc (none if an input keeps none)
        arrays_out.update(
            wordspans.select(
                [reader.word_spans(name) for reader in readers],
                [np.flatnonzero(reader.live) for reader in readers],
            )
        )
    if text:  # block maxima, from the merged postings
        arrays_out.update(
            blockmax.block_maxima(
                arrays_out["indptr"],
                arrays_out["docs"],
                arrays_out["tfs"],
                arrays_out["norms"],
                arrays_out.get("forms"),
            )
        )
    stats = {
        "terms": len(arrays_out["terms"]),
        "postings": len(arrays_out["docs"]),
        "tokens": tokens,
        "length_sum": int(arrays_out["lens"].sum(dtype=np.int64)) if text else 0,
    }
    return arrays_out, stats


def doc_remaps(readers: Sequence[SegmentReader]) -> list[Array]:
    """Per input, its docs' numbers in the merged segment (int32, -1: deleted): the live
    docs of ``readers`` in order."""
    remaps: list[Array] = []
    base = 0
    for reader in readers:
        live = reader.live
        remap = np.full(reader.max_doc, -1, dtype=np.int32)
        count = int(np.count_nonzero(live))
        remap[live] = np.arange(base, base + count, dtype=np.int32)
        remaps.append(remap)
        base += count
    return remaps


def merge_segments(
    directory: Directory, schema: Schema, readers: Sequence[SegmentReader], name: str
) -> SegmentEntry:
    """Write one segment ``name`` holding the live docs of ``readers`` (in order)."""
    remaps = doc_remaps(readers)
    max_doc = sum(int(np.count_nonzero(reader.live)) for reader in readers)
    arrays: dict[str, Any] = {}
    stats: dict[str, Any] = {}
    for spec in schema.fields:
        built, field_stats = _merge_field(
            spec.name, spec.kind == TEXT, spec.positions, readers, remaps, max_doc
        )
        arrays.update({f"fld.{spec.name}.{key}": value for key, value in built.items()})
        stats[spec.name] = field_stats
    ids: list[str] = []
    keys: list[str] = []
    urls: list[str] = []
    published: list[Array] = []
    store = StoreWriter()
    edge_src: list[Array] = []
    edge_parts: dict[str, list[str]] = {"key": [], "url": [], "tid": []}
    headlines: list[str] = []
    edge_remaps: list[Array] = []
    edges = 0
    for reader, remap in zip(readers, remaps, strict=True):
        live = reader.live
        everyone = bool(live.all())
        docs = None if everyone else np.flatnonzero(live).tolist()
        for target, values in (
            (ids, reader.article_ids()),
            (keys, reader.title_keys()),
            (urls, reader.urls()),
        ):
            target.extend(values if docs is None else [values[doc] for doc in docs])
        published.append(np.asarray(reader.published())[live])
        reader.copy_stored(store)
        # edges of live sources, in order (whole string tables copied when all are kept)
        src = np.asarray(reader.link_src, dtype=np.int64)
        kept = remap[src] >= 0
        count = int(np.count_nonzero(kept))
        edge_remap = np.full(len(kept), -1, dtype=np.int32)
        edge_remap[kept] = np.arange(edges, edges + count, dtype=np.int32)
        edge_remaps.append(edge_remap)
        edges += count
        if count:
            edge_src.append(remap[src[kept]])
            rows = None if count == len(src) else np.flatnonzero(kept).tolist()
            tables = [(edge_parts[part], reader.link_table(part)) for part in edge_parts]
            for target, values in [*tables, (headlines, reader.link_headlines())]:
                target.extend(values if rows is None else [values[row] for row in rows])
    arrays["strings.ids"] = ids
    arrays["strings.titlekeys"] = keys
    arrays["strings.urls"] = urls
    arrays["doc.published"] = (
        np.concatenate(published).astype(np.int64) if published else np.zeros(0, np.int64)
    )
    arrays["links.src"] = (
        np.concatenate(edge_src).astype(np.int32) if edge_src else np.zeros(0, np.int32)
    )
    for part, values in edge_parts.items():
        arrays[f"strings.links.{part}"] = values
    arrays[LINK_HEADLINES] = headlines
    arrays.update(merged_maps(readers, remaps, edge_remaps))
    arrays["store"] = store
    files = write_segment(directory, name, {"arrays": arrays, "stats": stats})
    return SegmentEntry(name=name, max_doc=max_doc, files=files, stats=stats)


class BackgroundMerge:
    """One merge of committed segments, run by :func:`merge_segments` in a thread.

    ``entries``: the inputs as one commit listed them (the snapshot merged: its
    deletions and anchor updates); ``name``: the output segment's name, reserved by the
    writer. The thread opens its own readers of the inputs (no reader state is shared
    with the writer's thread); the writer keeps the inputs' files (:attr:`files`) until
    the merge is installed or dropped. ``entry`` (the output) and ``reader`` (opened in
    the thread, its ids looked up once, so that the commit installing it pays neither),
    or ``error``, are set when the thread ends.
    """

    def __init__(
        self,
        directory: Directory,
        schema: Schema,
        entries: Sequence[SegmentEntry],
        name: str,
    ) -> None:
        self.entries = tuple(entries)
        self.name = name
        #: names of the segments being merged
        self.inputs = frozenset(entry.name for entry in self.entries)
        #: every file the inputs' entries list (kept while the merge runs)
        self.files = frozenset(name for entry in self.entries for name in entry.files)
        self.entry: SegmentEntry | None = None
        #: a reader of the output (set with :attr:`entry`)
        self.reader: SegmentReader | None = None
        self.error: BaseException | None = None
        self._readers: list[SegmentReader] = []
        self._thread = threading.Thread(
            target=self._run, args=(directory, schema), name=f"bnsearch-merge-{name}", daemon=True
        )
        self._thread.start()

    def _run(self, directory: Directory, schema: Schema) -> None:
        try:
            self._readers = [SegmentReader(directory, entry, schema) for entry in self.entries]
            entry = merge_segments(directory, schema, self._readers, self.name)
            faults.crash_point("background-merge-written")
            # opened and its id table hashed here, not in the commit that installs it
            self.reader = SegmentReader(directory, entry, schema)
            self.reader.find("")
            self.entry = entry
        except BaseException as error:  # reported to the writer's thread by install
            self.error = error

    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self) -> None:
        self._thread.join()

    def since(
        self, current: Mapping[str, SegmentReader]
    ) -> tuple[list[int], dict[int, tuple[str, ...]]]:
        """What the inputs received after the snapshot, in the merged segment's doc
        numbers: the docs deleted since (an input missing from ``current``, the newest
        commit's readers by segment name, lost every doc) and the final anchors of the
        live docs that anchor updates since gave new anchors."""
        deleted: list[int] = []
        anchors: dict[int, tuple[str, ...]] = {}
        for reader, remap in zip(self._readers, doc_remaps(self._readers), strict=True):
            live = reader.live
            now = current.get(reader.name)
            if now is None:
                deleted.extend(remap[live].tolist())
                continue
            deleted.extend(remap[live & ~now.live].tolist())
            known = {update.name for update in reader.anchor_updates}
            docs: set[int] = set()
            for update in now.anchor_updates:
                if update.name not in known:
                    docs.update(update.docs.tolist())
            for doc in sorted(docs):
                if live[doc] and now.live[doc]:
                    anchors[int(remap[doc])] = now.stored_anchors(doc)
        return deleted, anchors
