"""Segment merges: the policy that picks them and the numpy merge itself.

Policy (:class:`MergePolicy`): segments are grouped in size tiers (live docs, tiers
``merge_factor`` apart, everything below ``floor_docs`` in tier 0); when a tier holds
``merge_factor`` segments they are merged into one. A segment with more than
``max_deleted_ratio`` of its docs deleted is rewritten on its own. Merges never produce a
segment above ``max_merged_docs`` (bounds the RAM a merge needs: roughly 12 GB per
million news articles, so 500,000 by default). ``force_single`` merges
everything into one segment (``writer.optimize()``).

Merge (:func:`merge_segments`): deleted docs are dropped and the rest renumbered in
segment order; per field, the sorted union of the terms is built once and the postings,
term frequencies and positions of all inputs are concatenated and reordered with one
stable argsort by term. Stored blocks without deletions are copied as they are (the
others decompressed, filtered and recompressed); no analysis is repeated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from bnsearch.index import blockmax, wordspans
from bnsearch.index.directory import Directory
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

    def select(self, entries: Sequence[SegmentEntry]) -> list[list[int]]:
        """Groups of indices into ``entries`` to merge (each group becomes one segment)."""
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
                group, members = members[: self.merge_factor], members[self.merge_factor :]
                while (
                    len(group) > 1
                    and sum(entries[i].live_count for i in group) > self.max_merged_docs
                ):
                    group.pop()  # the largest: keep the merge under max_merged_docs
                if len(group) < 2:
                    break
                groups.append(sorted(group))
        return groups


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


def merge_segments(
    directory: Directory, schema: Schema, readers: Sequence[SegmentReader], name: str
) -> SegmentEntry:
    """Write one segment ``name`` holding the live docs of ``readers`` (in order)."""
    remaps: list[Array] = []
    base = 0
    for reader in readers:
        live = reader.live
        remap = np.full(reader.max_doc, -1, dtype=np.int32)
        count = int(np.count_nonzero(live))
        remap[live] = np.arange(base, base + count, dtype=np.int32)
        remaps.append(remap)
        base += count
    max_doc = base
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
    edge_src: list[int] = []
    edge_parts: dict[str, list[str]] = {"key": [], "url": [], "tid": []}
    headlines: list[str] = []
    for reader, remap in zip(readers, remaps, strict=True):
        live_docs = np.flatnonzero(reader.live).tolist()
        reader_ids, reader_keys, reader_urls = (
            reader.article_ids(),
            reader.title_keys(),
            reader.urls(),
        )
        ids.extend(reader_ids[doc] for doc in live_docs)
        keys.extend(reader_keys[doc] for doc in live_docs)
        urls.extend(reader_urls[doc] for doc in live_docs)
        published.append(np.asarray(reader.published())[reader.live])
        reader.copy_stored(store)
        if len(reader.link_src):
            tables = {part: reader.link_table(part) for part in edge_parts}
            reader_headlines = reader.link_headlines()
            for edge, src in enumerate(reader.link_src.tolist()):
                if remap[src] >= 0:
                    edge_src.append(int(remap[src]))
                    for part in edge_parts:
                        edge_parts[part].append(tables[part][edge])
                    headlines.append(reader_headlines[edge])
    arrays["strings.ids"] = ids
    arrays["strings.titlekeys"] = keys
    arrays["strings.urls"] = urls
    arrays["doc.published"] = (
        np.concatenate(published).astype(np.int64) if published else np.zeros(0, np.int64)
    )
    arrays["links.src"] = np.array(edge_src, dtype=np.int32)
    for part, values in edge_parts.items():
        arrays[f"strings.links.{part}"] = values
    arrays[LINK_HEADLINES] = headlines
    arrays["store"] = store
    files = write_segment(directory, name, {"arrays": arrays, "stats": stats})
    return SegmentEntry(name=name, max_doc=max_doc, files=files, stats=stats)
