"""Where a link commit's CPU goes: per-part ``process_time`` of single-article commits.

Run: ``python benchmarks/bench_commit_parts.py KEPT [COMMITS] [ARTICLES]``, where
``KEPT`` is a ``bench_publishing.py ARTICLES N --keep KEPT`` directory (default 10,000
articles, 150 commits). Both variants (``plain``, ``links``) get the same new articles
as in ``bench_publishing.py``, committed one at a time into copies of the kept indexes,
interleaved (the order flipped at every commit). Wrappers around the writer's steps
(the anchor fix-up and its parts, the write and reread of anchor updates, the flush and
its parts, the key lookups of the links) add up each one's CPU time per commit; merge
commits are left out; the median of each part is printed per variant, then the mean
(means add up, medians need not; a fold of anchor updates, one commit in about seven,
shows in the mean). A part's time includes the parts it calls.
"""

from __future__ import annotations

import functools
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_publishing as publishing
from bench_publishing_scale import copy_index

#: (owner module path, attribute path, label) of every wrapped step
STEPS = (
    ("bnsearch.index.writer", "IndexWriter._anchor_fixes", "anchor fix-up"),
    ("bnsearch.index.writer", "IndexWriter._appended_anchors", "_appended_anchors"),
    ("bnsearch.index.writer", "IndexWriter._pointing_edges", "_pointing_edges"),
    ("bnsearch.index.writer", "analyzed_groups", "analyzed_groups"),
    ("bnsearch.index.writer", "update_arrays", "update_arrays"),
    ("bnsearch.index.writer", "commit_updates", "commit_updates"),
    ("bnsearch.index.segment", "SegmentReader.stored_anchors", "stored anchors"),
    ("bnsearch.index.writer", "IndexWriter._write_anchor_fixes", "write update + reread"),
    ("bnsearch.index.anchorfile", "read_update", "read_update"),
    ("bnsearch.index.writer", "IndexWriter._flush", "_flush"),
    ("bnsearch.index.writer", "IndexWriter._flush_anchors", "_flush_anchors"),
    ("bnsearch.index.builder", "SegmentBuilder.add_articles", "builder.add_articles"),
    ("bnsearch.index.builder", "SegmentBuilder.build", "builder.build"),
    ("bnsearch.index.writer", "IndexWriter._publish", "_publish"),
    ("bnsearch.index.writer", "IndexWriter._land", "_land"),
    ("bnsearch.index.writer", "IndexWriter._merge", "_merge"),
    ("bnsearch.index.workers", "write_segment", "write_segment"),
    ("bnsearch.index.segment", "stored_arrays", "stored_arrays"),
    ("bnsearch.index.directory", "FSDirectory.write_parts", "write_parts"),
    ("bnsearch.index.compound", "read_table", "read_table"),
    ("bnsearch.index.segment", "SegmentReader.__init__", "SegmentReader()"),
    ("bnsearch.index.manifest", "Manifest.to_bytes", "manifest bytes"),
    ("bnsearch.index.writer", "IndexWriter.add", "writer.add"),
    ("bnsearch.index.writer", "article_keys", "article_keys"),
    ("bnsearch.index.writer", "IndexWriter._view", "_view"),
    ("bnsearch.index.links", "SnapshotLinks.resolve", "resolve"),
    ("bnsearch.index.links", "_LiveIds.get", "_LiveIds.get"),
    ("bnsearch.index.links", "SnapshotLinks.prefetch", "view.prefetch"),
    ("bnsearch.index.links", "SnapshotLinks.maps", "view.maps"),
    ("bnsearch.index.links", "SegmentLinkMaps.edges_pointing_at", "edges_pointing_at"),
    ("bnsearch.index.links", "SnapshotLinks.incoming_headlines", "incoming_headlines"),
    ("bnsearch.index.writer", "with_update", "with_update"),
    ("bnsearch.index.segment", "SegmentReader.with_deletes", "with_deletes"),
    ("bnsearch.index.segment", "SegmentReader._check", "SegmentReader._check"),
    ("bnsearch.index.writer", "adopt_maps", "adopt_maps"),
    ("bnsearch.index.writer", "IndexWriter._commit", "_commit"),
    ("bnsearch.index.writer", "IndexWriter._start_background", "_start_background"),
    ("bnsearch.index.writer", "IndexWriter._install_background", "_install_background"),
    ("bnsearch.index.writer", "IndexWriter._live_locations", "_live_locations"),
    ("bnsearch.index.writer", "IndexWriter._hosted_fixes", "_hosted_fixes"),
    ("bnsearch.index.writer", "IndexWriter._send_chunk", "_send_chunk"),
    ("bnsearch.index.workers", "LocalBuilder.start_flush", "start_flush"),
    ("bnsearch.index.builder", "_value_postings", "_value_postings"),
    ("bnsearch.index.builder", "postings_fields", "postings_fields"),
    ("bnsearch.index.builder", "few_value_field", "few_value_field"),
    ("bnsearch.index.builder", "value_fields", "value_fields"),
    ("bnsearch.index.builder", "_value_entries", "_value_entries"),
    ("bnsearch.index.anchorfile", "_update_parts", "_update_parts"),
    ("bnsearch.index.anchorfile", "encode_string_tables", "encode_string_tables"),
    ("bnsearch.index.anchorfile", "written_update", "written_update"),
    ("bnsearch.index.writer", "written_update", "written_update"),  # (called from there)
    ("bnsearch.index.segment", "SegmentReader.with_written_update", "with_written_update"),
    ("bnsearch.index.writer", "packed_updates", "packed_updates"),
    ("bnsearch.index.writer", "IndexWriter._adding_plan", "_adding_plan"),
    ("bnsearch.index.links", "SnapshotLinks.resolve_before", "resolve_before"),
    ("bnsearch.index.writer", "IndexWriter._joined_doc_maps", "_joined_doc_maps"),
    ("bnsearch.index.writer", "IndexWriter._fixes", "_fixes"),
    ("bnsearch.index.writer", "IndexWriter._analyzed_ahead", "_analyzed_ahead"),
    ("bnsearch.index.segment", "SegmentReader._read_anchor_update", "_read_anchor_update"),
    ("bnsearch.index.directory", "FSDirectory.write_manifest", "write_manifest"),
    ("bnsearch.index.reader", "IndexReader.__init__", "IndexReader()"),
    ("bnsearch.index.writer", "IndexWriter._reset_batch", "_reset_batch"),
    ("bnsearch.index.writer", "IndexWriter._remove_unreferenced", "_remove_unreferenced"),
)


def _wrap(parts: dict[str, float]) -> None:
    """Wrap every step of :data:`STEPS` that exists in this code (older code lacks some)."""
    import importlib

    for module_name, path, label in STEPS:
        owner: Any = importlib.import_module(module_name)
        *outer, name = path.split(".")
        for part in outer:
            owner = getattr(owner, part)
        original = getattr(owner, name, None)
        if original is None:
            continue
        setattr(owner, name, _timed(original, label, parts))


def _timed(original: Callable[..., Any], label: str, parts: dict[str, float]) -> Any:
    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            parts[label] = parts.get(label, 0.0) + time.process_time() - began

    return timed


def main(kept: Path, commits: int, articles: int) -> None:
    import bnsearch
    from bnsearch.index import Index

    parts: dict[str, float] = {}
    _wrap(parts)
    folder = Path(tempfile.mkdtemp(prefix="parts-"))
    try:
        new = {
            variant: publishing._articles(articles, commits, variant == "links")[1]
            for variant in publishing.VARIANTS
        }
        writers = {}
        for variant in publishing.VARIANTS:
            copy_index(kept / variant, folder / variant)
            writers[variant] = Index.open(folder / variant).writer()
        rows: dict[str, list[dict[str, float]]] = {v: [] for v in publishing.VARIANTS}
        for number in range(commits):
            order = publishing.VARIANTS if number % 2 == 0 else publishing.VARIANTS[::-1]
            for variant in order:
                parts.clear()
                began = time.process_time()
                writers[variant].add(new[variant][number])
                result = writers[variant].commit()
                whole = time.process_time() - began
                if not result.merged_segments:
                    rows[variant].append({"whole": whole, **parts})
        for writer in writers.values():
            writer.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(bnsearch.__file__, time.strftime("%H:%M:%S UTC", time.gmtime()))
    for variant in publishing.VARIANTS:
        found = rows[variant]
        labels = sorted({label for row in found for label in row})
        medians = {
            label: round(1000 * statistics.median(row.get(label, 0.0) for row in found), 3)
            for label in labels
        }
        print(variant, len(found), "commits, CPU p50 ms:", medians)
        means = {
            label: round(1000 * statistics.mean(row.get(label, 0.0) for row in found), 3)
            for label in labels
        }
        print(variant, len(found), "commits, CPU mean ms:", means)


if __name__ == "__main__":
    main(
        Path(sys.argv[1]),
        int(sys.argv[2]) if len(sys.argv) > 2 else 150,
        int(sys.argv[3]) if len(sys.argv) > 3 else 10_000,
    )
