"""The stored rows of a sharded results page on a cluster: short fields with the page,
long texts when first read.

A worker's answer to a search carries the stored row and highlights of each hit that
can reach the page. The body is most of a row (at 100,000 synthetic articles, 88% of
an answer's bytes: 60-85 KB a worker a search), and a results page shows the title,
section, URL, date and the highlights (the body's as a snippet), never the whole body
(``bnsearch.web.payload.hit_json``, the CLI's page). So on a cluster the rows travel
without their :data:`LONG_FIELDS` (the key is kept, its value ``None``), and a hit's
``fields`` is a :class:`LazyRow`: reading a left-out field, or the whole row, fetches
the full stored rows of every hit of the page that left one out, from their shards,
in one call per worker (:func:`~bnsearch.distributed.links.shard_rows`, at the
searcher's snapshot). Everything else (keys, order, the short fields' values) is
there without a call, and once fetched the row equals one index's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from bnsearch.search.results import LazyMapping

#: Stored fields left out of the rows a worker sends (fetched when first read).
LONG_FIELDS = ("body",)

#: A stored row as it travels: the row with the values of ``left_out`` set to None,
#: and ``left_out`` (the long texts it had).
Travelling = tuple[dict[str, Any], tuple[str, ...]]


def travelling(row: Mapping[str, Any], without: tuple[str, ...]) -> Travelling:
    """``row`` as a worker sends it: the non-empty strings of ``without`` left out."""
    fields = dict(row)
    left_out = tuple(name for name in without if isinstance(fields.get(name), str) and fields[name])
    for name in left_out:
        fields[name] = None
    return fields, left_out


#: Fetches full stored rows: ``{shard number: [ids]} -> {(shard number, id): row}``.
Fetch = Callable[[dict[int, list[str]]], dict[tuple[int, str], dict[str, Any]]]


class PageRows:
    """The full stored rows of a page's hits that left out long texts, fetched together
    when the first of them is needed."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._wanted: dict[int, list[str]] = {}
        self._rows: dict[tuple[int, str], dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def row(
        self, number: int, ident: str, fields: dict[str, Any], left_out: tuple[str, ...]
    ) -> Mapping[str, Any]:
        """The ``fields`` of hit ``ident`` of shard ``number``: as they are when nothing
        was left out, else a :class:`LazyRow` fetching with the page's others."""
        if not left_out:
            return fields
        self._wanted.setdefault(number, []).append(ident)
        return LazyRow(fields, left_out, self, (number, ident))

    def full(self, key: tuple[int, str]) -> dict[str, Any]:
        """The full stored row of hit ``key`` (``(shard number, id)``)."""
        with self._lock:
            if self._rows is None:
                self._rows = self._fetch(self._wanted)
            return self._rows[key]


class LazyRow(LazyMapping[str, Any]):
    """A hit's stored row whose long texts are fetched when first read (see the module
    docstring); keys, their order and the other values need no call. Pickles as a
    plain dict (the full row)."""

    def __init__(
        self,
        fields: dict[str, Any],
        left_out: tuple[str, ...],
        page: PageRows,
        key: tuple[int, str],
    ) -> None:
        self._fields = fields
        self._left_out = left_out
        self._page: PageRows | None = page
        self._key = key

    def _all(self) -> dict[str, Any]:
        if self._page is not None:
            self._fields, self._page = self._page.full(self._key), None
        return self._fields

    def __getitem__(self, name: str) -> Any:
        if self._page is not None and name not in self._left_out:
            return self._fields[name]
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def __reduce__(self) -> tuple[type[dict[str, Any]], tuple[dict[str, Any]]]:
        return dict, (self._all(),)
