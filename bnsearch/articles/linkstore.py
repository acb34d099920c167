"""Compact containers behind :class:`bnsearch.articles.links.LinkGraph`.

The link graph of a million articles with six links each must fit in a few hundred MB,
so it holds no Python object per article or per link. This module owns the three
containers it is built from:

* :class:`Column`: a growable one-dimensional numpy array (amortized appends, trimmed
  views);
* :class:`Atoms`: interned strings (article ids, title keys, URL keys). Each distinct
  string gets a small integer, its *atom*; the strings themselves sit in one byte arena
  (Bengali and ASCII one byte a character, anything else UTF-8). Lookup goes by the
  string's 64-bit hash and is exact: every hash hit is confirmed by comparing the stored
  bytes, and two strings with the same hash are two atoms;
* :class:`Multimap`: integer keys to integer values, append-only. A sorted base (two
  parallel arrays) answers most lookups with a binary search; a small dict holds what was
  added since the last fold and is folded into the base when it grows. Entries are never
  removed one by one: the owner says which values are still valid (``valid``), lookups
  return every value ever added, and a fold drops the invalid ones.

Nothing here knows about links; :mod:`bnsearch.articles.links` gives the integers their
meaning.
"""

from __future__ import annotations

import codecs
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bnsearch.arrays import run_positions
from bnsearch.compiled import optional_module

__all__ = ["Atoms", "Column", "Multimap"]

#: The string hash new :class:`Atoms` tables use (the tests swap in a poor one to check
#: that colliding strings stay apart).
string_hash: Callable[[str], int] = hash

#: :meth:`Multimap.get_many` looks only at the asked keys numpy finds among the recent
#: adds when they number under 1/_FEW_RECENT of the keys asked (else a dict lookup a key).
_FEW_RECENT = 8

#: :meth:`Multimap.get_many` sorts the asked keys before its binary searches from this
#: many keys on.
_SORTED_LOOKUPS = 4096

#: Below this many atoms, :meth:`Atoms.texts` decodes one at a time.
_BULK_TEXTS = 16

#: The compiled confirmation of hash hits (:meth:`Atoms._same`), None on the Python path.
_COMPILED = optional_module("bnsearch.articles._atoms")

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]

# one byte per character for ASCII and the Bengali block (U+0980-U+09FF); a string with any
# other character is stored as UTF-8. The first byte says which (0: packed, 1: UTF-8).
_PACKED_TABLE = "".join(chr(code) for code in range(128)) + "".join(
    chr(0x980 + code) for code in range(128)
)
_PACKED_MAP = codecs.charmap_build(_PACKED_TABLE)


def _encode(text: str) -> bytes:
    try:
        return b"\x00" + codecs.charmap_encode(text, "strict", _PACKED_MAP)[0]
    except UnicodeEncodeError:
        return b"\x01" + text.encode("utf-8", "surrogatepass")


def _decode(arena: bytearray, start: int, end: int) -> str:
    if arena[start] == 0:
        return codecs.charmap_decode(arena[start + 1 : end], "strict", _PACKED_TABLE)[0]
    return arena[start + 1 : end].decode("utf-8", "surrogatepass")


class Column:
    """A growable 1-d numpy array of one dtype: ``append``/``extend`` at the end,
    ``view()`` of the filled part (a view: writes go through)."""

    __slots__ = ("_data", "size")

    def __init__(self, dtype: Any, capacity: int = 16) -> None:
        self._data: npt.NDArray[Any] = np.empty(max(capacity, 16), dtype=dtype)
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def _reserve(self, total: int) -> None:
        if total > len(self._data):
            # an eighth more: a big column's spare room stays small (amortized appends still)
            grown = np.empty(max(total, len(self._data) + len(self._data) // 8), self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown

    def append(self, value: int) -> int:
        """Append one value; returns its position."""
        if self.size == len(self._data):
            self._reserve(self.size + 1)
        self._data[self.size] = value
        self.size += 1
        return self.size - 1

    def extend(self, values: npt.ArrayLike) -> None:
        array = np.asarray(values, dtype=self._data.dtype)
        self._reserve(self.size + len(array))
        self._data[self.size : self.size + len(array)] = array
        self.size += len(array)

    def view(self) -> npt.NDArray[Any]:
        return self._data[: self.size]

    @property
    def data(self) -> npt.NDArray[Any]:
        """The whole buffer (positions past ``size`` are garbage): for reading one value
        without making a view."""
        return self._data

    def replace(self, values: npt.NDArray[Any]) -> None:
        """Hold exactly ``values`` (a copy in this column's dtype, no spare room)."""
        self._data = np.array(values, dtype=self._data.dtype)
        self.size = len(self._data)

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)


class Multimap:
    """Integer keys to integer values, append-only; see the module docstring.

    ``valid(values)`` gives a boolean mask of the values still worth keeping (a fold drops
    the others). :meth:`get` returns every value added under a key, valid or not, in no
    particular order; callers filter.
    """

    __slots__ = ("_extra", "_extra_count", "_keys", "_valid", "_values")

    def __init__(
        self,
        key_dtype: Any = np.int32,
        valid: Callable[[Int32Array], npt.NDArray[np.bool_]] | None = None,
    ) -> None:
        self._keys: npt.NDArray[Any] = np.empty(0, dtype=key_dtype)
        self._values: Int32Array = np.empty(0, dtype=np.int32)
        self._extra: dict[int, list[int]] = {}
        self._extra_count = 0
        self._valid = valid

    def __len__(self) -> int:
        return len(self._keys) + self._extra_count

    def add(self, key: int, value: int) -> None:
        bucket = self._extra.get(key)
        if bucket is None:
            self._extra[key] = [value]
        else:
            bucket.append(value)
        self._extra_count += 1
        if self._extra_count > max(4096, min(len(self._keys) // 4, 1 << 16)):
            self.fold()

    def add_many(self, keys: npt.NDArray[Any], values: npt.NDArray[Any]) -> None:
        """Add many pairs at once (folded at once when they are many)."""
        if len(keys) < 1024 or len(keys) * 16 < len(self._keys):
            for key, value in zip(keys.tolist(), values.tolist(), strict=True):
                self.add(key, value)
        else:
            self.fold((keys, values))

    def get(self, key: int) -> list[int]:
        found: list[int] = []
        keys = self._keys
        # a scalar of the base's own type: a Python int would make numpy cast the base
        typed = keys.dtype.type(key)
        low = int(keys.searchsorted(typed, "left"))
        if low < len(keys) and keys[low] == typed:
            found = self._values[low : int(keys.searchsorted(typed, "right"))].tolist()
        extra = self._extra.get(key)
        if extra:
            found.extend(extra)
        return found

    def get_many(self, keys: npt.NDArray[Any]) -> tuple[Int32Array, IntArray]:
        """Every (value, position in ``keys``) pair for ``keys`` (base and recent adds)."""
        low, high = self._ranges(keys)
        counts = high - low
        total = int(counts.sum())
        owner = np.repeat(np.arange(len(keys), dtype=np.int64), counts)
        starts = np.repeat(low - np.cumsum(counts) + counts, counts)
        values = self._values[starts + np.arange(total, dtype=np.int64)]
        if self._extra:
            extra = self._extra
            if len(extra) * _FEW_RECENT < len(keys):
                # few recent keys among many asked (a bulk update's last small chunk): the
                # places asking for one found by numpy, not by a dict lookup a key
                recent = np.fromiter(extra, dtype=self._keys.dtype, count=len(extra))
                where = np.flatnonzero(np.isin(keys, recent))
                places: Iterable[int] = where.tolist()
                asked = keys[where].tolist()
            else:
                places, asked = range(len(keys)), keys.tolist()
            more = [
                (position, bucket)
                for position, key in zip(places, asked, strict=True)
                if (bucket := extra.get(key))
            ]
            if more:
                values = np.concatenate(
                    [values, np.fromiter((v for _, b in more for v in b), dtype=np.int32)]
                )
                owner = np.concatenate(
                    [owner, np.repeat([p for p, _ in more], [len(b) for _, b in more])]
                )
        return values, owner

    def _ranges(self, keys: npt.NDArray[Any]) -> tuple[IntArray, IntArray]:
        """Where each of ``keys`` starts and ends in the base. Many keys are looked up in
        ascending order (numpy's binary search then starts each from the last one's place,
        and the base is read in one sweep): at a 100k links build's last graph updates,
        85,000 hashes against a 182,000-atom base took 10 ms that way against 20 in the
        order asked (the base read at random)."""
        base = self._keys
        if len(keys) < _SORTED_LOOKUPS:
            return base.searchsorted(keys, "left"), base.searchsorted(keys, "right")
        order = np.argsort(keys)
        ordered = keys[order]
        low = np.empty(len(keys), dtype=np.int64)
        high = np.empty(len(keys), dtype=np.int64)
        low[order] = base.searchsorted(ordered, "left")
        high[order] = base.searchsorted(ordered, "right")
        return low, high

    def fold(self, more: tuple[npt.NDArray[Any], npt.NDArray[Any]] | None = None) -> None:
        """Merge the recent adds (and ``more``) into the sorted base, dropping invalid values.

        Recent adds are few (at most 65,536): they are sorted and inserted into the base in
        one pass, with no sort of the base. ``more`` (a bulk add) is sorted with it."""
        if not self._extra and more is None:
            return
        keys_parts: list[npt.NDArray[Any]] = []
        value_parts: list[npt.NDArray[Any]] = []
        if self._extra:
            counts = [len(bucket) for bucket in self._extra.values()]
            keys_parts.append(np.repeat(np.fromiter(self._extra, dtype=self._keys.dtype), counts))
            value_parts.append(
                np.fromiter(
                    (v for bucket in self._extra.values() for v in bucket),
                    dtype=np.int32,
                    count=self._extra_count,
                )
            )
        if more is not None:
            keys_parts.append(np.asarray(more[0], dtype=self._keys.dtype))
            value_parts.append(np.asarray(more[1], dtype=np.int32))
        keys, values = self._kept(np.concatenate(keys_parts), np.concatenate(value_parts))
        base_keys, base_values = self._kept(self._keys, self._values)
        if more is not None:
            keys = np.concatenate([base_keys, keys])
            values = np.concatenate([base_values, values])
            order = np.argsort(keys, kind="stable")
            self._keys, self._values = keys[order], values[order]
        else:
            order = np.argsort(keys, kind="stable")
            keys, values = keys[order], values[order]
            at = base_keys.searchsorted(keys)
            self._keys = np.insert(base_keys, at, keys)
            self._values = np.insert(base_values, at, values)
        self._extra = {}
        self._extra_count = 0

    def _kept(
        self, keys: npt.NDArray[Any], values: npt.NDArray[Any]
    ) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        if self._valid is not None and len(values):
            keep = self._valid(values)
            if not keep.all():
                return keys[keep], values[keep]
        return keys, values

    def remap(self, values: Int32Array, keys: Int32Array | None = None) -> None:
        """Renumber after a compaction: ``values[old]`` (and ``keys[old]``) is the new
        number, ``-1`` drops the entry."""
        self.fold()
        new_values = values[self._values]
        new_keys = self._keys if keys is None else keys[self._keys]
        keep = new_values >= 0
        if keys is not None:
            keep &= new_keys >= 0
        new_keys, new_values = new_keys[keep], new_values[keep]
        order = np.argsort(new_keys, kind="stable")
        self._keys = new_keys[order].astype(self._keys.dtype)
        self._values = new_values[order].astype(np.int32)

    @property
    def nbytes(self) -> int:
        return int(self._keys.nbytes + self._values.nbytes)


class Atoms:
    """Interned strings (see the module docstring). Atom numbers start at 0; ``-1``
    stands for "no string" (``""``)."""

    __slots__ = ("_arena", "_hash", "_index", "_starts")

    def __init__(self) -> None:
        self._hash = string_hash
        self._arena = bytearray()
        self._starts = Column(np.int64)
        self._starts.append(0)
        self._index = Multimap(np.int64)

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getstate__(self) -> tuple[bytearray, Column]:
        # the strings only: their index is keyed by Python's string hash, which differs
        # between processes (PYTHONHASHSEED), so it is built again where they are loaded
        return self._arena, self._starts

    def __setstate__(self, state: tuple[bytearray, Column]) -> None:
        self._hash = string_hash
        self._arena, self._starts = state
        self._index = Multimap(np.int64)
        count = len(self)
        if count:
            hashes = np.fromiter(map(self._hash, self.texts(range(count))), np.int64, count)
            self._index.fold((hashes, np.arange(count, dtype=np.int32)))

    def text(self, atom: int) -> str:
        """The string of an atom (``""`` for ``-1``)."""
        if atom < 0:
            return ""
        starts = self._starts.data
        return _decode(self._arena, int(starts[atom]), int(starts[atom + 1]))

    def texts(self, atoms: Iterable[int]) -> list[str]:
        """:meth:`text` of each atom, in bulk: the packed strings' bytes are gathered by
        numpy and decoded in one call, then cut apart (one byte a character)."""
        chosen = np.fromiter(atoms, dtype=np.int64)
        if len(chosen) < _BULK_TEXTS:
            return [self.text(atom) for atom in chosen.tolist()]
        found = [""] * len(chosen)
        present = np.flatnonzero(chosen >= 0)
        starts = self._starts.data
        begin = starts[chosen[present]]
        end = starts[chosen[present] + 1]
        arena = np.frombuffer(self._arena, dtype=np.uint8)
        packed = arena[begin] == 0  # the tag byte
        del arena  # a view: the arena must stay free to grow
        for at in present[~packed].tolist():  # stored as UTF-8
            found[at] = self.text(int(chosen[at]))
        begin, end, places = begin[packed] + 1, end[packed], present[packed]
        sizes = end - begin
        bounds = np.cumsum(sizes)
        if not len(bounds):
            return found
        joined = np.frombuffer(self._arena, dtype=np.uint8)[run_positions(begin, sizes)].tobytes()
        text = codecs.charmap_decode(joined, "strict", _PACKED_TABLE)[0]
        cuts = np.concatenate(([0], bounds)).tolist()
        for at, low, high in zip(places.tolist(), cuts[:-1], cuts[1:], strict=True):
            found[at] = text[low:high]
        return found

    def find(self, text: str) -> int:
        """The atom of ``text``, ``-1`` when it was never interned (or is ``""``)."""
        if not text:
            return -1
        candidates = self._index.get(self._hash(text))
        if candidates:
            encoded = _encode(text)
            starts = self._starts.view()
            for atom in candidates:
                if self._arena[int(starts[atom]) : int(starts[atom + 1])] == encoded:
                    return atom
        return -1

    def intern(self, text: str) -> int:
        """The atom of ``text``, added when new (``-1`` for ``""``)."""
        if not text:
            return -1
        found = self.find(text)
        if found >= 0:
            return found
        encoded = _encode(text)
        self._arena += encoded
        atom = len(self)
        self._starts.append(len(self._arena))
        self._index.add(self._hash(text), atom)
        return atom

    def find_many(self, texts: Sequence[str]) -> Int32Array:
        """:meth:`find` of each of ``texts``, in bulk."""
        return self._many(texts, add=False)

    def intern_many(self, texts: Sequence[str]) -> Int32Array:
        """:meth:`intern` of each of ``texts``, in bulk."""
        return self._many(texts, add=True)

    def _many(self, texts: Sequence[str], *, add: bool) -> Int32Array:
        unique = dict.fromkeys(texts)
        unique.pop("", None)
        distinct = list(unique)
        result = np.full(len(distinct), -1, dtype=np.int32)
        if distinct:
            hashes = np.fromiter(map(self._hash, distinct), dtype=np.int64, count=len(distinct))
            found, owner = self._index.get_many(hashes)
            if len(found):  # confirmed by the strings (two strings may share a hash)
                wanted = list(map(distinct.__getitem__, owner.tolist()))
                same = self._same(found, wanted)
                result[owner[same]] = found[same]
            new = np.flatnonzero(result < 0)
            if add and len(new):
                encoded = [_encode(distinct[position]) for position in new.tolist()]
                first = len(self)
                lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
                self._starts.extend(len(self._arena) + np.cumsum(lengths))
                self._arena += b"".join(encoded)
                atoms = np.arange(first, first + len(new), dtype=np.int32)
                result[new] = atoms
                self._index.add_many(hashes[new], atoms)
        lookup = dict(zip(distinct, result.tolist(), strict=True))
        lookup[""] = -1
        return np.fromiter(map(lookup.__getitem__, texts), dtype=np.int32, count=len(texts))

    def _same(self, atoms: npt.NDArray[Any], texts: list[str]) -> npt.NDArray[np.bool_]:
        """Whether each atom's string is the text beside it (hash hits confirmed): by
        the compiled ``_atoms.same_texts`` where built (the bytes compared in place),
        else each atom's string decoded (:meth:`texts`) and compared."""
        if _COMPILED is not None:
            arena = np.frombuffer(self._arena, dtype=np.uint8)
            try:
                same: npt.NDArray[np.bool_] = _COMPILED.same_texts(
                    arena, self._starts.data, atoms.astype(np.int64, copy=False), texts
                )
            finally:
                del arena  # a view: the arena must stay free to grow
            return same
        stored = self.texts(atoms.tolist())
        return np.fromiter(map(operator.eq, stored, texts), dtype=bool, count=len(texts))

    def settle(self) -> None:
        """Fold the index's recent adds (after a bulk load: no Python object per recent
        atom outlives it)."""
        self._index.fold()

    @property
    def nbytes(self) -> int:
        return len(self._arena) + self._starts.nbytes + self._index.nbytes
