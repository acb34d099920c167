"""Filters: which docs of each segment a search may return.

A filter is ``{keyword field: value or values}``, ``{"published": (since, until)}`` (a
date range), or a query that must match without adding to the score. Every segment gets
one bool mask: live docs (deletions) and'ed with the filter. Keyword masks, and the masks
of a filter given by values, are cached per snapshot (a service filters by the same
sections again and again).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bnsearch.errors import SchemaError
from bnsearch.index.reader import IndexReader
from bnsearch.index.segment import NO_DATE, epoch_seconds
from bnsearch.search.compiler import Compiler
from bnsearch.search.engine import Evaluator
from bnsearch.search.query import Query

#: The filter key of the publication-date range.
PUBLISHED = "published"
#: Keyword masks a :class:`Filters` keeps.
CACHED_MASKS = 256

DateBound = dt.date | dt.datetime | None
FilterArg = Mapping[str, str | Sequence[str] | tuple[DateBound, DateBound]] | Query | None
Mask = npt.NDArray[np.bool_]


class Filters:
    """The masks of one snapshot's filters (keyword masks cached)."""

    def __init__(self, reader: IndexReader) -> None:
        self.reader = reader
        self.schema = reader.schema
        #: keyword masks by ``(field, keys)`` and a filter's masks by ``("filter",
        #: items)`` (:func:`_filter_key`), bounded together by :data:`CACHED_MASKS`
        self._cache: dict[tuple[Any, ...], list[Any]] = {}
        #: per segment, its live docs (None: no deletions; the masks of no filter, read
        #: and never changed by the callers); the snapshot never changes
        self.live: list[Mask | None] = [
            None if s.del_count == 0 else s.live for s in reader.segments
        ]

    def masks(
        self, filter_: FilterArg, compiler: Compiler, evaluator: Evaluator
    ) -> list[Mask | None]:
        """Per segment, the docs a search may return: live, and passing ``filter_``
        (``None``: every doc)."""
        if filter_ is None:
            return self.live
        key = _filter_key(filter_)
        if key is not None:
            kept: list[Mask | None] | None = self._cache.get(key)
            if kept is not None:
                return kept
        filter_masks = self._filter_masks(filter_, compiler, evaluator)
        found: list[Mask | None] = [
            f if m is None else (m & f) for m, f in zip(self.live, filter_masks, strict=True)
        ]
        if key is not None:  # (read-only: every search with this filter gets these)
            for mask in found:
                assert mask is not None
                mask.setflags(write=False)
            self._keep(key, found)
        return found

    def _filter_masks(
        self, filter_: Mapping[str, Any] | Query, compiler: Compiler, evaluator: Evaluator
    ) -> list[Mask]:
        segments = self.reader.segments
        masks = [np.ones(s.max_doc, dtype=bool) for s in segments]
        if not isinstance(filter_, Mapping):
            compiled = compiler.compile(filter_)
            if compiled is None:
                return [np.zeros(s.max_doc, dtype=bool) for s in segments]
            for mask, (docs, _) in zip(
                masks, evaluator.evaluate(compiled, [s.max_doc for s in segments]), strict=True
            ):
                keep = np.zeros(len(mask), dtype=bool)
                keep[docs] = True
                mask &= keep
            return masks
        for name, wanted in filter_.items():
            if name == PUBLISHED and name not in self.schema:
                since, until = date_range(wanted)
                for mask, segment in zip(masks, segments, strict=True):
                    published = segment.published()
                    mask &= (published >= since) & (published < until) & (published != NO_DATE)
                continue
            if name not in self.schema:
                raise SchemaError(f"unknown filter field {name!r}; fields are {self.schema.names}")
            if self.schema[name].is_text:
                raise SchemaError(
                    f"filter field {name!r} is a text field; filters use keyword fields"
                )
            if isinstance(wanted, str):
                values = [wanted]
            elif isinstance(wanted, Iterable) and not isinstance(wanted, (bytes, Mapping)):
                values = list(wanted)
            else:
                raise ValueError(
                    f"filter {name!r} takes a value or a list of values, "
                    f"got {type(wanted).__name__}"
                )
            keys = tuple(sorted({k for v in values if (k := compiler.keyword_key(str(v)))}))
            for mask, keep in zip(masks, self.keyword_masks(name, keys), strict=True):
                mask &= keep
        return masks

    def keyword_masks(self, name: str, keys: tuple[str, ...]) -> list[Mask]:
        """Per segment, the docs having any of ``keys`` in keyword field ``name`` (cached)."""
        cache_key = (name, keys)
        found: list[Mask] | None = self._cache.get(cache_key)
        if found is None:
            found = []
            for segment in self.reader.segments:
                keep = np.zeros(segment.max_doc, dtype=bool)
                for key in keys:
                    postings = segment.postings(name, key)
                    if postings is not None:
                        keep[postings[0]] = True
                keep.setflags(write=False)
                found.append(keep)
            self._keep(cache_key, found)
        return found

    def _keep(self, key: tuple[Any, ...], masks: list[Any]) -> None:
        """Remember ``masks`` under ``key`` (at most :data:`CACHED_MASKS` entries)."""
        if len(self._cache) >= CACHED_MASKS:
            self._cache.clear()
        self._cache[key] = masks


def _filter_key(filter_: FilterArg) -> tuple[Any, ...] | None:
    """What a filter's masks are kept under: its items, for a mapping of keyword values
    (each a string or a tuple of strings: a section, sections), or None (a date range,
    which a service may move every search and which would push the keyword masks out; a
    list; a query: made every time). A service filters by the same sections again and
    again, and the masks of one were a search's own 15 us at 4k (a mask a segment made,
    the cached keyword masks and'ed in, the live docs and'ed with it)."""
    if not isinstance(filter_, Mapping):
        return None
    items = tuple(filter_.items())
    for _, wanted in items:
        if type(wanted) is not str and (
            type(wanted) is not tuple or not all(type(value) is str for value in wanted)
        ):
            return None
    return ("filter", items)


def _date_bound(value: object, *, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return epoch_seconds(value)
    if isinstance(value, dt.date):
        return epoch_seconds(dt.datetime(value.year, value.month, value.day))
    raise ValueError(
        f"filter {PUBLISHED!r}: {where} must be a date, a datetime or None, "
        f"got {type(value).__name__}"
    )


def date_range(wanted: object) -> tuple[int, int]:
    """``(since, until)`` of a ``published`` filter as epoch seconds (open ends widened)."""
    if not isinstance(wanted, tuple) or len(wanted) != 2:
        raise ValueError(
            f"filter {PUBLISHED!r} takes a (since, until) pair of dates, got {wanted!r}"
        )
    since = _date_bound(wanted[0], where="since")
    until = _date_bound(wanted[1], where="until")
    return (
        NO_DATE + 1 if since is None else since,
        int(np.iinfo(np.int64).max) if until is None else until,
    )
