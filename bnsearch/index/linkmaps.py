"""A segment's persisted link key maps: which docs carry a key, which links name one.

Resolving one link (:func:`bnsearch.articles.links.resolve_link`) asks "which live
articles have this title key / URL key / id", and finding the links that may point at
an article asks "which links name this title key / URL key / target id". Each segment
answers both from five maps written with it, so a writer's commit and a reader's
``related()`` look up only the keys they touch instead of building lookups over the
whole index:

========== =========================================== ===============================
map        items                                       key of an item
========== =========================================== ===============================
``title``  docs                                        ``strings.titlekeys``
``url``    docs                                        ``url_key`` of ``strings.urls``
``ekey``   link edges (rows of ``links.src``)          ``strings.links.key``
``eurl``   link edges                                  ``url_key`` of ``strings.links.url``
``etid``   link edges                                  ``strings.links.tid``
========== =========================================== ===============================

Map ``M`` is two arrays of equal length: ``links.map.M.hash`` (uint64, ascending: the
64-bit BLAKE2b hash of an item's key, :func:`key_hash`) and ``links.map.M.items``
(int32: the doc or edge; ascending within one hash). Items with an empty key are left
out. A lookup hashes the key and binary-searches; the caller confirms each candidate
against its key as stored (two keys may share a hash). A merge joins its segments'
maps with docs and edges renumbered (:func:`merge_map`: no key is hashed again).

The maps are optional arrays: a segment written before them has none and
:func:`segment_maps` builds the same arrays in memory from its string tables (once per
segment, kept with its arrays), so both give the same lookups.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from itertools import chain, compress, pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from bnsearch.articles.links import url_key
from bnsearch.compiled import optional_module
from bnsearch.errors import IndexFormatError

if TYPE_CHECKING:
    from bnsearch.index.segment import SegmentReader

Array = npt.NDArray[Any]

#: The maps, in the order of the table in the module docstring.
MAPS = ("title", "url", "ekey", "eurl", "etid")
#: Maps whose items are docs (the others' are link edges).
DOC_MAPS = ("title", "url")


def map_stem(name: str, part: str) -> str:
    """The array stem of ``part`` (``"hash"`` or ``"items"``) of map ``name``."""
    return f"links.map.{name}.{part}"


@functools.lru_cache(maxsize=1 << 16)
def link_url_key(url: str) -> str:
    """:func:`url_key` of a stored URL, ``""`` for no URL (cached: URLs repeat)."""
    return url_key(url) if url else ""


def _hash(key: str) -> int:
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@functools.lru_cache(maxsize=1 << 16)
def key_hash(key: str) -> int:
    """The 64-bit hash of a key in the maps (BLAKE2b of its UTF-8, little-endian)."""
    return _hash(key)


def build_map(
    keys: Sequence[str], hashes: Mapping[str, int] | None = None
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]]:
    """``(hash, items)`` of one map: item ``i`` has key ``keys[i]`` (``""``: left out).
    ``hashes`` (key -> :func:`key_hash`, every non-empty key of ``keys``) spares hashing
    a key again."""
    if not any(keys):  # (a build's edge URLs and target ids, mostly)
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int32)
    if hashes is None:
        hashes = _hashes(keys)
    count = len(keys)
    present = np.fromiter(map(bool, keys), dtype=bool, count=count)
    items = np.flatnonzero(present).astype(np.int32)
    looked = map(hashes.__getitem__, keys if len(items) == count else compress(keys, present))
    values = np.fromiter(looked, dtype=np.uint64, count=len(items))
    order = np.argsort(values, kind="stable")  # items ascending within a hash
    return values[order], items[order]


#: Keys whose hash :func:`_hashes` remembers for the next segments: a links build's
#: segments name most of the build's titles each (a 100k build's seven segments hashed
#: 422,624 keys, about 100,000 of them distinct). About 100 bytes an entry beyond the
#: key itself (shared with the segment's tables); past the bound a new memo starts.
HASHES_REMEMBERED = 1 << 18
_hash_memo: dict[str, int] = {}
_HASH_MEMO_LOCK = threading.Lock()


def _hashes(*tables: Sequence[str]) -> Mapping[str, int]:
    """A map holding each non-empty key of ``tables`` -> its hash (and maybe other
    keys): the process's memo, where each key is hashed once while it is kept (a
    segment's link keys repeat: a title is named by about six pages, and is a doc's
    title key too; the next segments name the same titles). A full memo is replaced,
    not cleared, so a map handed out stays whole."""
    global _hash_memo
    wanted = set(chain.from_iterable(table for table in tables if any(table)))
    wanted.discard("")
    with _HASH_MEMO_LOCK:
        memo = _hash_memo
        if len(memo) + len(wanted) > HASHES_REMEMBERED:
            memo = _hash_memo = {}
        missing = wanted.difference(memo)
        memo.update(zip(missing, map(_hash, missing), strict=True))
        return memo


def forget_hashes() -> None:
    """Forget every remembered hash (:func:`key_hash`'s cache and :func:`_hashes`' memo):
    for a test that replaces :func:`_hash`."""
    global _hash_memo
    key_hash.cache_clear()
    with _HASH_MEMO_LOCK:
        _hash_memo = {}


def map_keys(
    *,
    title_keys: Sequence[str],
    urls: Sequence[str],
    edge_keys: Sequence[str],
    edge_urls: Sequence[str],
    edge_tids: Sequence[str],
) -> dict[str, Sequence[str]]:
    """Each map's key per item (by map name), from a segment's per-doc and per-edge
    strings (URLs as written: their :func:`url_key` is taken here)."""
    return {
        "title": title_keys,
        "url": _url_keys(urls),
        "ekey": edge_keys,
        "eurl": _url_keys(edge_urls),
        "etid": edge_tids,
    }


def _url_keys(urls: Sequence[str]) -> Sequence[str]:
    """:func:`link_url_key` of each URL; URLs all ``""`` (a build's links give none,
    mostly) are their own keys."""
    return [link_url_key(url) for url in urls] if any(urls) else urls


def build_maps(**strings: Sequence[str]) -> dict[str, Array]:
    """Every map's arrays, by stem, from the strings :func:`map_keys` takes. A key in
    several maps (a title key named by links) is hashed once."""
    keys = map_keys(**strings)
    hashes = _hashes(*keys.values())
    arrays: dict[str, Array] = {}
    for name in MAPS:
        built = build_map(keys[name], hashes)
        arrays[map_stem(name, "hash")], arrays[map_stem(name, "items")] = built
    return arrays


def merge_map(
    parts: Sequence[tuple[Array, Array, Array]],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]]:
    """One map from ``(hash, items, renumber)`` parts: item ``i`` of a part becomes
    ``renumber[i]`` (``-1``: dropped). The parts' items must be numbered in part order
    (a merge's docs and edges are), so one stable sort by hash keeps items ascending."""
    hashes: list[Array] = []
    items: list[Array] = []
    for part_hash, part_items, renumber in parts:
        new = np.asarray(renumber)[np.asarray(part_items, dtype=np.int64)]
        keep = new >= 0
        hashes.append(np.asarray(part_hash)[keep])
        items.append(new[keep])
    if not hashes:
        return np.zeros(0, np.uint64), np.zeros(0, np.int32)
    joined = np.concatenate(hashes).astype(np.uint64)
    numbers = np.concatenate(items).astype(np.int32)
    # within one hash: items of earlier parts first, and each part's in order
    order = np.lexsort((numbers, joined))
    return joined[order], numbers[order]


#: A map of at most this many items (a writer's one-article segments: one doc, six
#: edges) is checked and looked up in Python (a dict of its hashes, made when it is
#: read) instead of by numpy reductions and binary searches, whose fixed cost is many
#: times the work on a few items.
SMALL_MAP = 64


#: The compiled key-map searches (:func:`bnsearch.index._rows.key_items`,
#: :func:`~bnsearch.index._rows.keys_items`: no numpy call overhead a search),
#: ``None`` on the numpy path (the reference).
_COMPILED = optional_module("bnsearch.index._rows")

#: Keys from which :meth:`KeyMap.candidates_many` searches a big map in one numpy call
#: (fewer: one scalar search each; 2 us against 1 us a key, measured in process time).
MANY_KEYS = 3


class KeyMap:
    """One map of one segment: :meth:`candidates` of a key (unconfirmed)."""

    def __init__(self, hashes: Array, items: Array) -> None:
        self.hashes = hashes
        self.items = items
        #: hash -> items of a small map (``None``: binary search)
        self._small: dict[int, list[int]] | None = None
        if len(hashes) <= SMALL_MAP:
            small: dict[int, list[int]] = {}
            for value, item in zip(hashes.tolist(), items.tolist(), strict=True):
                small.setdefault(value, []).append(item)
            self._small = small

    def candidates(self, key: str) -> list[int]:
        """Items whose key may be ``key`` (same hash; confirm against the stored key)."""
        if not key:
            return []
        if self._small is not None:
            return list(self._small.get(key_hash(key), ()))
        if _COMPILED is not None:
            found_items: list[int] = _COMPILED.key_items(self.hashes, self.items, key_hash(key))
            return found_items
        hashes = self.hashes
        wanted = np.uint64(key_hash(key))
        at = int(hashes.searchsorted(wanted))
        found: list[int] = []
        end = len(hashes)
        while at < end and hashes[at] == wanted:
            found.append(int(self.items[at]))
            at += 1
        return found

    def candidates_many(self, batch: KeyBatch) -> list[list[int]]:
        """:meth:`candidates` of each key of ``batch``: a big map's binary searches made
        in one numpy call for all of them when there are :data:`MANY_KEYS` or more (a
        commit resolving six links asks each segment for a dozen keys; one numpy call
        costs about what two scalar searches do)."""
        keys = batch.keys
        small = self._small
        if small is not None:
            return [
                list(small.get(value, ())) if key else []
                for key, value in zip(keys, batch.hashes, strict=True)
            ]
        if _COMPILED is not None:  # (the empty key's hash, 0, is no key's: no candidates)
            answers: list[list[int]] = _COMPILED.keys_items(self.hashes, self.items, batch.hashes)
            return [found if key else [] for key, found in zip(keys, answers, strict=True)]
        if len(keys) < MANY_KEYS:
            return [self.candidates(key) for key in keys]
        hashes = self.hashes
        lows = hashes.searchsorted(batch.wanted, side="left").tolist()
        highs = hashes.searchsorted(batch.wanted, side="right").tolist()
        items = self.items
        return [
            items[low:high].tolist() if key and low < high else []
            for key, low, high in zip(keys, lows, highs, strict=True)
        ]


class KeyBatch:
    """Keys asked of many maps together (:meth:`KeyMap.candidates_many`: a commit's
    lookups asked of every segment), each key's hash worked out once for all."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = tuple(keys)
        #: each key's :func:`key_hash` (0 for the empty key, which has no candidates)
        self.hashes = [key_hash(key) if key else 0 for key in self.keys]
        self.wanted = np.array(self.hashes, dtype=np.uint64)


#: A segment of at least this many docs joins a writer's :class:`JoinedDocMaps` (the
#: segments a one-article commit's merges never touch: the merge policy's smaller tiers
#: are merged every few commits, its floor is 2,000 docs).
JOINED_DOCS = 4096


def joined_members(segments: Sequence[SegmentReader]) -> list[int]:
    """The positions in ``segments`` of those a :class:`JoinedDocMaps` joins: the ones
    of :data:`JOINED_DOCS` docs or more."""
    return [at for at, segment in enumerate(segments) if segment.max_doc >= JOINED_DOCS]


class JoinedDocMaps:
    """The ``title`` and ``url`` maps of several big segments joined into one sorted
    table each (hash, member, doc), so a commit's key lookups search one table for all
    of them instead of each segment's map (:meth:`candidates_many`). Kept by a writer
    across its commits while the same segments' arrays are in its batch
    (:meth:`holds`: a merge replacing one, a rollback or another writer's commit that
    changed the segments makes a new one); deletions and anchor updates do not change a
    segment's maps (deleted docs are in them: callers filter by their live masks).
    The members are held weakly (a segment merged away is not kept open by this)."""

    def __init__(self, segments: Sequence[SegmentReader]) -> None:
        self._members = [weakref.ref(segment.arrays_key) for segment in segments]
        self._tables = {
            name: _joined([segment_maps(s)[name] for s in segments]) for name in DOC_MAPS
        }

    def holds(self, segments: Sequence[SegmentReader]) -> bool:
        """Whether this joins exactly the arrays of ``segments``, in their order."""
        return len(segments) == len(self._members) and all(
            member() is segment.arrays_key
            for member, segment in zip(self._members, segments, strict=True)
        )

    def candidates_many(self, name: str, batch: KeyBatch) -> list[list[tuple[int, int]]]:
        """Per key of ``batch``: the (member number, doc) pairs whose key in map
        ``name`` (``"title"`` or ``"url"``) may be it (same hash; confirm against the
        stored key), members in order, docs ascending."""
        hashes, members, items = self._tables[name]
        lows = hashes.searchsorted(batch.wanted, side="left").tolist()
        highs = hashes.searchsorted(batch.wanted, side="right").tolist()
        return [
            list(zip(members[low:high].tolist(), items[low:high].tolist(), strict=True))
            if key and low < high
            else []
            for key, low, high in zip(batch.keys, lows, highs, strict=True)
        ]


def _joined(parts: Sequence[KeyMap]) -> tuple[Array, Array, Array]:
    """``(hash, member, item)`` of maps ``parts`` joined, sorted by hash, then member,
    then item (each part is sorted by hash with its items ascending within one: a
    stable sort of the parts one after the other keeps both orders)."""
    if not parts:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint8), np.zeros(0, np.int32)
    hashes = np.concatenate([np.asarray(part.hashes) for part in parts])
    sizes = [len(part.hashes) for part in parts]
    kind = np.uint8 if len(parts) <= 1 << 8 else np.int32  # (a byte a doc: few big segments)
    members = np.repeat(np.arange(len(parts), dtype=kind), sizes)
    items = np.concatenate([np.asarray(part.items) for part in parts])
    order = np.argsort(hashes, kind="stable")
    return hashes[order], members[order], items[order]


def check_map(name: str, hashes: Array, items: Array, count: int) -> str | None:
    """What is wrong with map ``name``'s arrays for ``count`` docs or edges, or ``None``."""
    if hashes.ndim != 1 or items.ndim != 1 or len(hashes) != len(items):
        return f"link map {name!r}: {len(hashes)} hashes for {len(items)} items"
    if hashes.dtype != np.uint64 or items.dtype != np.int32:
        return f"link map {name!r}: dtypes {hashes.dtype}/{items.dtype}, expected uint64/int32"
    if len(items) <= SMALL_MAP:  # (see SMALL_MAP: the same checks on lists)
        numbers, values = items.tolist(), hashes.tolist()
        outside = any(number < 0 or number >= count for number in numbers)
        unsorted = any(later < value for value, later in pairwise(values))
    else:
        outside = int(items.min()) < 0 or int(items.max()) >= count
        unsorted = bool(np.any(hashes[1:] < hashes[:-1]))
    if outside:
        return f"link map {name!r}: an item outside 0..{count - 1}"
    if unsorted:
        return f"link map {name!r}: hashes not ascending"
    return None


_BUILT: weakref.WeakKeyDictionary[Any, dict[str, KeyMap]] = weakref.WeakKeyDictionary()


def segment_maps(segment: SegmentReader) -> dict[str, KeyMap]:
    """The segment's five maps by name: its persisted arrays (structure checked once),
    or for a segment written without them the same arrays built from its string tables
    (built once, kept with the segment's arrays)."""
    found = _BUILT.get(segment.arrays_key)
    if found is not None:
        return found
    persisted = all(segment.has_array(map_stem(name, "items")) for name in MAPS)
    if persisted:
        arrays = {
            map_stem(name, part): segment.array(map_stem(name, part))
            for name in MAPS
            for part in ("hash", "items")
        }
    else:
        arrays = computed_maps(segment)
    found = {}
    for name in MAPS:
        hashes, items = arrays[map_stem(name, "hash")], arrays[map_stem(name, "items")]
        count = segment.max_doc if name in DOC_MAPS else len(segment.link_src)
        problem = check_map(name, hashes, items, count)
        if problem is not None:
            raise IndexFormatError(
                f"segment {segment.name}: {problem} (the index is damaged; run bnsearch verify)"
            )
        found[name] = KeyMap(hashes, items)
    _BUILT[segment.arrays_key] = found
    return found


def map_arrays_of(arrays: Mapping[str, Any]) -> dict[str, Array]:
    """The map arrays (by stem) among a segment's ``arrays`` (all five maps' or none)."""
    stems = [map_stem(name, part) for name in MAPS for part in ("hash", "items")]
    return {stem: arrays[stem] for stem in stems} if all(s in arrays for s in stems) else {}


def adopt_maps(segment: SegmentReader, arrays: Mapping[str, Array]) -> None:
    """Take ``arrays`` (:func:`map_arrays_of` the arrays this process has just written
    into ``segment``'s file) as the segment's maps, the ones :func:`segment_maps`
    would read: no views made, nothing checked (they are not read from a file; a
    reader opening the segment reads and checks them). A writer landing the segment
    its flush built hands them over so, instead of its next commit reading them. Only
    small maps (at most :data:`SMALL_MAP` items each: a commit of a few articles) are
    taken: a bulk build's would stay in memory, where the file's pages can be dropped."""
    if arrays and all(len(array) <= SMALL_MAP for array in arrays.values()):
        _BUILT[segment.arrays_key] = {
            name: KeyMap(arrays[map_stem(name, "hash")], arrays[map_stem(name, "items")])
            for name in MAPS
        }


def computed_maps(segment: SegmentReader) -> dict[str, Array]:
    """The maps' arrays as the builder would write them, from the segment's string
    tables (for segments without them, and for ``verify``)."""
    edges = len(segment.link_src)
    table: Callable[[str], list[str]] = segment.link_table
    return build_maps(
        title_keys=segment.title_keys(),
        urls=segment.urls(),
        edge_keys=table("key") if edges else [],
        edge_urls=table("url") if edges else [],
        edge_tids=table("tid") if edges else [],
    )


def map_arrays(segment: SegmentReader) -> dict[str, Array]:
    """The segment's map arrays by stem (persisted, or built: see :func:`segment_maps`)."""
    maps = segment_maps(segment)
    arrays: dict[str, Array] = {}
    for name, key_map in maps.items():
        arrays[map_stem(name, "hash")] = key_map.hashes
        arrays[map_stem(name, "items")] = key_map.items
    return arrays


def merged_maps(
    segments: Sequence[SegmentReader], doc_maps: Sequence[Array], edge_maps: Sequence[Array]
) -> dict[str, Array]:
    """The maps of a merge of ``segments``: doc ``d`` of segment ``i`` becomes
    ``doc_maps[i][d]``, edge ``e`` becomes ``edge_maps[i][e]`` (``-1``: dropped)."""
    sources = [map_arrays(segment) for segment in segments]
    arrays: dict[str, Array] = {}
    for name in MAPS:
        renumber = doc_maps if name in DOC_MAPS else edge_maps
        merged = merge_map(
            [
                (source[map_stem(name, "hash")], source[map_stem(name, "items")], numbers)
                for source, numbers in zip(sources, renumber, strict=True)
            ]
        )
        arrays[map_stem(name, "hash")], arrays[map_stem(name, "items")] = merged
    return arrays


def map_problems(segment: SegmentReader) -> list[str]:
    """For ``verify``: the segment's persisted maps must be the ones its string tables
    give (a segment without them has nothing to check)."""
    if not any(segment.has_array(map_stem(name, "items")) for name in MAPS):
        return []
    problems = []
    expected = computed_maps(segment)
    for name in MAPS:
        stems = (map_stem(name, "hash"), map_stem(name, "items"))
        if not all(segment.has_array(stem) for stem in stems):
            problems.append(f"{segment.name}: link map {name!r} is incomplete")
            continue
        hashes, items = (segment.array(stem) for stem in stems)
        if not (
            np.array_equal(hashes, expected[stems[0]]) and np.array_equal(items, expected[stems[1]])
        ):
            problems.append(
                f"{segment.name}: link map {name!r} does not match the segment's link keys "
                "(rebuild the index to repair)"
            )
    return problems
