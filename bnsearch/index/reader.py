"""A reader: one fixed snapshot (generation) of an index, and its global statistics.

An :class:`IndexReader` opens the segments named by one manifest and never changes;
:meth:`IndexReader.refresh` returns a reader on the newest commit (reusing unchanged
segments). Global statistics (live N, document frequency, field length sums) come from
here for every segment, so a score never depends on how documents are split into
segments. Links follow the rule of :mod:`bnsearch.articles.links` over the snapshot:
``out_links``, ``in_links`` and ``in_link_count`` resolve only the links of (or possibly
pointing at) the article asked about (:class:`~bnsearch.index.links.SnapshotLinks`), so
the first ``related()`` on a big index does not resolve every link; the whole graph (a
:class:`~bnsearch.articles.links.LinkGraph`: in-link counts for priors, unresolved and
ambiguous links) is built on first use of those.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from bnsearch.articles import Article, RelatedLink
from bnsearch.errors import IndexFormatError, SchemaError
from bnsearch.index.directory import Directory
from bnsearch.index.links import (
    LinkCensus,
    LinkGraph,
    LinkStatus,
    SnapshotLinks,
    graph_from_segments,
    link_census,
)
from bnsearch.index.manifest import Manifest, SegmentEntry
from bnsearch.index.schema import Schema
from bnsearch.index.segment import SegmentReader, compound_name
from bnsearch.index.store import row_article

_OPEN_RETRIES = 5
#: Document frequencies a reader remembers (field, term pairs asked of it); the memo starts
#: over past this, so a server asked ever new words on one snapshot stays bounded.
MAX_DF_MEMO = 200_000


def read_manifest(directory: Directory) -> Manifest:
    """The current manifest, or :class:`IndexFormatError` if there is none."""
    data = directory.read_manifest()
    if data is None:
        raise IndexFormatError(
            f"{directory.describe('meta.json')}: no index here (missing manifest); create one "
            "with Index.create(path)"
        )
    return Manifest.from_bytes(data, where=directory.describe("meta.json"))


def schema_for(manifest: Manifest, schema: Schema | None, *, where: str) -> Schema:
    """The schema to read ``manifest`` with: the recorded one, or ``schema`` if it fits.

    Raises :class:`AnalyzerMismatchError` when this code's analyzers differ from the
    recorded identities, :class:`SchemaError` when ``schema`` has other fields.
    """
    try:
        recorded = Schema.from_json(manifest.schema, check_identities=False)
    except SchemaError as error:  # the manifest's own description: damage, not a misuse
        raise IndexFormatError(f"{where}: {error}") from None
    if schema is None:
        recorded.check_identities(_identities(manifest, where))
        return recorded
    if not schema.same_layout(recorded):
        raise SchemaError(
            f"{where}: the schema given does not match the index's fields "
            f"{recorded.names} (kinds, sources and analyzers must agree; weights may differ)"
        )
    schema.check_identities(_identities(manifest, where))
    return schema


def _identities(manifest: Manifest, where: str) -> dict[str, str | None]:
    try:
        return {
            str(entry["name"]): entry.get("analyzer_identity")
            for entry in manifest.schema["fields"]
        }
    except (KeyError, TypeError, AttributeError) as error:
        raise IndexFormatError(f"{where}: the schema is malformed ({error!r})") from None


class IndexReader:
    """A fixed snapshot of an index: its segments and global statistics.

    ``doc_count`` (= ``total_docs``) is the number of live articles. Use
    :meth:`refresh` to see later commits; a reader never changes under you.
    """

    def __init__(
        self,
        directory: Directory,
        manifest: Manifest,
        schema: Schema,
        *,
        reuse: dict[tuple[str, str | None], SegmentReader] | None = None,
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self.schema = schema
        self.generation = manifest.generation
        by_name = {name: segment for (name, _), segment in (reuse or {}).items()}
        kept: list[SegmentReader | None] = []
        for entry in manifest.segments:
            previous = (reuse or {}).get((entry.name, entry.deletes)) or by_name.get(entry.name)
            if previous is not None and not _same_segment_file(previous.entry, entry):
                previous = None  # the name came back (a folder made anew): other files
            kept.append(previous)
        # the new segments first: a link commit's anchor updates of older segments are
        # hosted in its new segment's compound file, whose mapping and checked table
        # they then share (not mapped and read again for each updated segment)
        segments = [
            SegmentReader(directory, entry, schema, ordinal=ordinal) if previous is None else None
            for ordinal, (entry, previous) in enumerate(zip(manifest.segments, kept, strict=True))
        ]
        hosts = {
            compound_name(segment.name): segment for segment in segments if segment is not None
        }
        for ordinal, (entry, previous) in enumerate(zip(manifest.segments, kept, strict=True)):
            if previous is not None and previous.ordinal == ordinal and previous.entry == entry:
                segments[ordinal] = previous
            elif previous is not None:
                # a commit deleted some of its docs or updated their anchors: its checked
                # arrays are shared
                segments[ordinal] = previous.with_deletes(directory, entry, ordinal, hosts)
        self.segments: tuple[SegmentReader, ...] = tuple(
            segment for segment in segments if segment is not None
        )
        self.doc_count = sum(segment.live_count for segment in self.segments)
        self._df: dict[tuple[str, str], int] = {}
        self._length_sums: dict[str, int] = {}
        self._graph: LinkGraph | None = None
        self._resolver: SnapshotLinks | None = None
        self._census_cache: LinkCensus | None = None

    @classmethod
    def open(cls, directory: Directory, schema: Schema | None = None) -> IndexReader:
        """Open the newest commit (retrying if a commit replaces it while opening)."""
        last_error: Exception | None = None
        for _ in range(_OPEN_RETRIES):
            manifest = read_manifest(directory)
            resolved = schema_for(manifest, schema, where=directory.describe("meta.json"))
            try:
                return cls(directory, manifest, resolved)
            except (IndexFormatError, FileNotFoundError) as error:
                last_error = error
                again = directory.read_manifest()
                if (
                    again is not None
                    and Manifest.from_bytes(again, where=directory.describe("meta.json")).generation
                    != manifest.generation
                ):
                    continue  # a commit (and its cleanup) raced with us: open the new one
                raise
        assert last_error is not None
        raise last_error

    def refresh(self) -> IndexReader:
        """A reader on the newest commit (``self`` if nothing changed)."""
        manifest = read_manifest(self.directory)
        if manifest == self.manifest:  # (not the generation alone: a folder made anew
            return self  # with as many commits has this one's, and other files)
        reuse = {(s.entry.name, s.entry.deletes): s for s in self.segments}
        try:
            return IndexReader(self.directory, manifest, self.schema, reuse=reuse)
        except (IndexFormatError, FileNotFoundError):
            return IndexReader.open(self.directory, self.schema)

    def __enter__(self) -> IndexReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop references to the mapped files (they unmap when no array uses them)."""
        self.segments = ()
        self._graph = None
        self._resolver = None
        self._census_cache = None

    # -- statistics ---------------------------------------------------------------------
    @property
    def total_docs(self) -> int:
        """Live articles in the snapshot (N for idf)."""
        return self.doc_count

    def doc_freq(self, field: str, term: str) -> int:
        """Live documents whose ``field`` contains ``term``, over all segments."""
        key = (field, term)
        cached = self._df.get(key)
        if cached is None:
            cached = sum(segment.doc_freq(field, term) for segment in self.segments)
            if len(self._df) >= MAX_DF_MEMO:
                self._df.clear()
            self._df[key] = cached
        return cached

    def field_length_sum(self, field: str) -> int:
        """Total terms in ``field`` over live documents."""
        cached = self._length_sums.get(field)
        if cached is None:
            if not self.schema[field].is_text:
                raise SchemaError(f"field {field!r} is a keyword field and has no lengths")
            cached = sum(segment.field_length_sum(field) for segment in self.segments)
            self._length_sums[field] = cached
        return cached

    def avg_field_length(self, field: str) -> float:
        """Mean length of ``field`` over live documents (0.0 for an empty index)."""
        total = self.field_length_sum(field)
        return total / self.doc_count if self.doc_count else 0.0

    # -- documents ----------------------------------------------------------------------
    def find(self, article_id: str) -> tuple[int, int] | None:
        """``(segment ordinal, local doc)`` of the live article with this id, or ``None``."""
        for ordinal in range(len(self.segments) - 1, -1, -1):
            doc = self.segments[ordinal].find(article_id)
            if doc is not None:
                return ordinal, doc
        return None

    def __contains__(self, article_id: object) -> bool:
        return isinstance(article_id, str) and self.find(article_id) is not None

    def stored(self, segment_ord: int, doc: int) -> dict[str, Any]:
        """The stored row of one document (original text; see :func:`article_row`)."""
        return self.segments[segment_ord].stored(doc)

    def article(self, article_id: str) -> Article | None:
        """The stored :class:`Article` with this id, or ``None``."""
        where = self.find(article_id)
        return None if where is None else row_article(self.stored(*where))

    def article_ids(self) -> list[str]:
        """Ids of all live articles, segment by segment."""
        result: list[str] = []
        for segment in self.segments:
            ids = segment.article_ids()
            result.extend(ids[doc] for doc in np.flatnonzero(segment.live).tolist())
        return result

    # -- link graph ---------------------------------------------------------------------
    def link_graph(self) -> LinkGraph:
        """Every live link of the snapshot resolved by the rule of
        :mod:`bnsearch.articles.links` (built on first use, cached)."""
        if self._graph is None:
            self._graph = graph_from_segments(self.segments, self.find)
        return self._graph

    def _census(self) -> LinkCensus:
        """Every live link sorted into resolved and pending from the segments' key maps
        (:func:`~bnsearch.index.links.link_census`: no whole graph; built once, cached)."""
        if self._census_cache is None:
            self._census_cache = link_census(self.segments, self.find)
        return self._census_cache

    def _links(self) -> SnapshotLinks:
        if self._resolver is None:
            self._resolver = SnapshotLinks(self.segments, self.find)
        return self._resolver

    def out_links(self, article_id: str) -> list[str]:
        """Ids of the live articles this article's related headlines resolve to (in
        headline order; resolved for this article only)."""
        if self._graph is not None:
            return list(self._graph.out_links(article_id)) if article_id in self._graph else []
        return list(self._links().out_links(article_id))

    def in_links(self, article_id: str) -> list[str]:
        """Ids of the live articles whose related headlines point at this one, sorted
        (only the links that could point here are resolved)."""
        if self._graph is not None:
            return list(self._graph.in_links(article_id)) if article_id in self._graph else []
        return list(self._links().in_links(article_id))

    def in_link_count(self, article_id: str) -> int:
        """How many distinct live articles link to this one."""
        return len(self.in_links(article_id))

    def in_link_counts(self) -> list[npt.NDArray[np.int32]]:
        """Per segment, an int32 array ``[max_doc]`` of in-link counts (for priors)."""
        return self._census().in_link_counts([segment.max_doc for segment in self.segments])

    def unresolved_links(self) -> list[tuple[str, str]]:
        """``(source id, headline)`` of live links that match no article (yet); a link
        without a headline shows its URL (or target id).

        Sorted by source id and link number. They resolve when a matching article is added.
        """
        rows = self._census().pending_rows(self.segments, LinkStatus.UNRESOLVED)
        return [
            (source, _shown_text(headline, url, tid)) for source, _, headline, url, tid, _ in rows
        ]

    def ambiguous_links(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """``(source id, headline, candidate ids)`` of links that match several articles.

        The deciding rule (target id, URL, headline) found several live articles: the link
        gets no edge and no anchor. Sorted by source id and link number.
        """
        rows = self._census().pending_rows(self.segments, LinkStatus.AMBIGUOUS)
        return [
            (source, _shown_text(headline, url, tid), candidates)
            for source, _, headline, url, tid, candidates in rows
        ]


def _shown(link: RelatedLink) -> str:
    """How a report names a link: its headline, else its URL, else its target id."""
    return _shown_text(link.headline, link.url or "", link.target_id or "")


def _shown_text(headline: str, url: str, target_id: str) -> str:
    """:func:`_shown` of a link's parts (``""`` where absent)."""
    return headline or url or target_id


def _same_segment_file(old: SegmentEntry, new: SegmentEntry) -> bool:
    """Whether two entries of one segment name describe the same written segment (same
    doc count, same size and checksum of the compound file): only then may a refreshed
    reader share the old reader's checked arrays."""
    compound = compound_name(new.name)
    return old.max_doc == new.max_doc and old.files.get(compound) == new.files.get(compound)
