"""Segment builders for the writer: in this process, or in analysis worker processes.

A builder receives chunks of ``(article, anchors)`` and, on flush, writes everything it
received as one segment (the flush may replace some docs' anchors: the writer knows them
for sure only then). :class:`LocalBuilder` does that in the writer's process.
:class:`WorkerBuilder` runs a long-lived worker process (``fork`` where available, so it
starts with the parent's warm analyzer cache) that analyzes, builds, compresses and writes
its own segment; the writer only sends articles round-robin and collects the finished
segments' file lists. With ``processes=N`` the analysis, the CSR build and the stored-text
compression all run in parallel, so the writer's own process stays nearly idle. Worker
processes need an on-disk index (they open the folder themselves).
"""

from __future__ import annotations

import functools
import gc
import json
import multiprocessing
import multiprocessing.connection
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bnsearch.articles import Article, RelatedLink
from bnsearch.articles.links import KeyedArticle
from bnsearch.errors import BnSearchError
from bnsearch.index.builder import SegmentBuilder
from bnsearch.index.directory import Directory, FileInfo, FSDirectory
from bnsearch.index.linkmaps import map_arrays_of
from bnsearch.index.links import title_key
from bnsearch.index.schema import Schema
from bnsearch.index.segment import write_segment

Items = list[tuple[Article, tuple[str, ...]]]
#: The writer's keys of each article of ``Items`` when it took them (``None``: not
#: taken), see :meth:`SegmentBuilder.add_articles`.
Keys = Sequence[KeyedArticle | None]
#: Final anchors of some docs of the segment being flushed, by local doc number.
Anchors = Mapping[int, tuple[str, ...]]
#: (files written, docs in the segment, per-field statistics)
Flushed = tuple[dict[str, FileInfo], int, dict[str, Any]]
#: Arrays the writer adds to the segment being flushed, by stem (the anchor updates of
#: other segments it hosts, see :mod:`.anchorfile`).
Extra = Mapping[str, Any]


def _with_extra(built: dict[str, Any], extra: Extra | None) -> dict[str, Any]:
    """A built segment with the writer's ``extra`` arrays added (stems must be new)."""
    if extra:
        clash = built["arrays"].keys() & extra.keys()
        if clash:
            raise ValueError(f"extra arrays clash with the segment's own: {sorted(clash)}")
        built["arrays"].update(extra)
    return built


class LocalBuilder:
    """Builds segments in the writer's own process, in the writer's thread.

    (A background thread was measured: the build's Python steps then wait for the GIL
    held by the analysis, so the flush took 4x longer and nothing was gained.)
    """

    def __init__(self, schema: Schema) -> None:
        self._schema = schema
        self._builder = SegmentBuilder(schema)
        self._result: Flushed | None = None
        self._failure: str | None = None  # a failed add leaves the builder half-filled
        self._maps: dict[str, Any] = {}  # the link key maps the last flush wrote

    def add(self, items: Items, keys: Keys | None = None) -> None:
        if self._failure is not None:
            return  # reported at the flush, like a worker's failure
        try:
            self._builder.add_articles(items, keys)
        except Exception as error:
            self._failure = f"{type(error).__name__}: {error}"
            raise

    def start_flush(
        self,
        directory: Directory,
        name: str,
        anchors: Anchors | None = None,
        extra: Extra | None = None,
    ) -> None:
        if self._failure is not None:
            raise BnSearchError(
                f"analysis failed earlier in this batch ({self._failure}); the batch is rolled back"
            )
        built = _with_extra(self._builder.build(anchors), extra)
        files = write_segment(directory, name, built)
        self._result = (files, self._builder.doc_count, built["stats"])
        self._maps = map_arrays_of(built["arrays"])
        self._builder = SegmentBuilder(self._schema)

    def finish_flush(self) -> Flushed:
        result, self._result = self._result, None
        assert result is not None
        return result

    def landed_maps(self) -> dict[str, Any]:
        """The link key map arrays (by stem) of the segment the last flush wrote, as it
        wrote them (once: handed over, then forgotten)."""
        maps, self._maps = self._maps, {}
        return maps

    def discard(self) -> None:
        self._builder = SegmentBuilder(self._schema)
        self._result = None
        self._failure = None

    def close(self) -> None:
        self.discard()


def warm_up(schema: Schema) -> None:
    """Build the lazily made tables every process needs (ICU break iterators, the
    title-key punctuation pattern) before workers are forked, so each inherits them."""
    title_key("warm-up: ১")
    for spec in schema.fields:
        if spec.is_text:
            schema.analyzer(spec.name).term_sequence("বাংলা ভাষা ১২৩ warm-up")


@functools.lru_cache(maxsize=4)
def _schema_from(schema_json: str) -> Schema:
    return Schema.from_json(json.loads(schema_json), check_identities=False)


#: An article as plain values (pickles about 4x faster than the attrs object):
#: id, title, body, section, caption, photo_credit, related as (headline, url, target_id)
#: tuples, url, published, source; then the anchors.
Packed = tuple[Any, ...]


def pack(article: Article, anchors: tuple[str, ...]) -> Packed:
    """``(article, anchors)`` as plain values for the trip to a worker."""
    return (
        article.id,
        article.title,
        article.body,
        article.section,
        article.caption,
        article.photo_credit,
        tuple((link.headline, link.url, link.target_id) for link in article.related),
        article.url,
        article.published,
        article.source,
        anchors,
    )


def unpack(packed: Packed) -> tuple[Article, tuple[str, ...]]:
    """The ``(article, anchors)`` pair :func:`pack` was given."""
    ident, title, body, section, caption, credit, related, url, published, source, anchors = packed
    article = Article(
        id=ident,
        title=title,
        body=body,
        section=section,
        caption=caption,
        photo_credit=credit,
        related=tuple(
            RelatedLink(headline=headline, url=link_url, target_id=target)
            for headline, link_url, target in related
        ),
        url=url,
        published=published,
        source=source,
    )
    return article, anchors


def _worker_main(
    inbox: Any, conn: multiprocessing.connection.Connection, path: str, schema_json: str
) -> None:
    """Worker loop over its inbox: ``add`` chunks, ``flush`` a segment, ``reset``, ``stop``.

    Replies (only to ``flush``) go back through ``conn``.
    """
    gc.freeze()  # objects inherited by fork: keep them out of the collector's scans
    schema = _schema_from(schema_json)
    directory = FSDirectory(Path(path))
    builder = SegmentBuilder(schema)
    failure: str | None = None
    while True:
        try:
            kind, payload = inbox.get()
        except (EOFError, OSError):
            return
        if kind == "stop":
            return
        if kind == "reset":
            builder, failure = SegmentBuilder(schema), None
            continue
        try:
            if kind == "add" and failure is None:
                builder.add_articles([unpack(packed) for packed in payload])
            elif kind == "flush":
                if failure is not None:
                    conn.send(("error", failure))
                else:
                    name, anchors, extra = payload
                    built = _with_extra(builder.build(anchors), extra)
                    files = write_segment(directory, name, built)
                    directory.sync()
                    conn.send(
                        (
                            "ok",
                            {
                                "files": {n: (i.size, i.crc32) for n, i in files.items()},
                                "max_doc": builder.doc_count,
                                "stats": built["stats"],
                            },
                        )
                    )
                builder, failure = SegmentBuilder(schema), None
        except Exception as error:  # reported to the writer at the next flush
            failure = f"{type(error).__name__}: {error}"
            if kind == "flush":
                conn.send(("error", failure))
                builder, failure = SegmentBuilder(schema), None


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class WorkerBuilder:
    """Builds segments in a worker process of its own."""

    def __init__(self, path: Path, schema_json: str) -> None:
        context = _context()
        # the inbox is a queue with a feeder thread, so sending never waits for the worker
        self._inbox = context.Queue()
        parent, child = context.Pipe()
        self._process = context.Process(
            target=_worker_main, args=(self._inbox, child, str(path), schema_json), daemon=True
        )
        self._process.start()
        child.close()
        self._conn: multiprocessing.connection.Connection = parent
        self._awaiting = False

    def _send(self, message: tuple[str, Any]) -> None:
        if not self._process.is_alive():
            raise BnSearchError(
                f"an analysis worker process (pid {self._process.pid}) has died "
                f"(exit code {self._process.exitcode}); the batch is rolled back"
            )
        try:
            self._inbox.put(message)
        except (BrokenPipeError, EOFError, OSError, ValueError):
            raise BnSearchError(
                f"an analysis worker process (pid {self._process.pid}) has died "
                f"(exit code {self._process.exitcode}); the batch is rolled back"
            ) from None

    def add(self, items: Items, keys: Keys | None = None) -> None:
        """Send ``items`` to the worker; it takes the title keys itself, in parallel
        with the writer (``keys`` are not sent)."""
        self._send(("add", [pack(article, anchors) for article, anchors in items]))

    def start_flush(
        self,
        directory: Directory,
        name: str,
        anchors: Anchors | None = None,
        extra: Extra | None = None,
    ) -> None:
        self._send(("flush", (name, dict(anchors or {}), dict(extra or {}))))
        self._awaiting = True

    def finish_flush(self) -> Flushed:
        self._awaiting = False
        try:
            while not self._conn.poll(0.5):
                if not self._process.is_alive():
                    raise EOFError
            kind, payload = self._conn.recv()
        except (EOFError, OSError):
            raise BnSearchError(
                f"an analysis worker process (pid {self._process.pid}) has died "
                f"(exit code {self._process.exitcode}); the batch is rolled back"
            ) from None
        if kind != "ok":
            raise BnSearchError(f"an analysis worker failed: {payload}")
        files = {
            name: FileInfo(size=size, crc32=crc) for name, (size, crc) in payload["files"].items()
        }
        return files, int(payload["max_doc"]), dict(payload["stats"])

    def discard(self) -> None:
        if not self._process.is_alive():
            return
        if self._awaiting:  # a flush reply nobody will read: drop it (files go with the batch)
            self._awaiting = False
            try:
                while not self._conn.poll(0.5):
                    if not self._process.is_alive():
                        return
                self._conn.recv()
            except (EOFError, OSError):
                return
        self._send(("reset", None))

    def close(self) -> None:
        try:
            if self._process.is_alive():
                self._inbox.put(("stop", None))
        except (BrokenPipeError, OSError, ValueError):
            pass
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)
        self._inbox.close()
        self._inbox.cancel_join_thread()
        self._conn.close()
