"""Articles room: the link graph's interned strings (:class:`bnsearch.articles.linkstore.
Atoms`) in bulk give what one at a time gives: :meth:`~Atoms.texts` of many atoms (packed
and UTF-8 strings, ``-1``), and :meth:`~Atoms.intern_many` / :meth:`~Atoms.find_many`
confirming hash hits by the strings, also when every string shares a few hashes."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bnsearch.articles.linkstore as linkstore
from bnsearch.articles.linkstore import Atoms


def strings(rng: random.Random, count: int) -> list[str]:
    """Bengali and ASCII (stored packed) and others (stored as UTF-8), some empty."""
    pool = ["ঢাকা", "খবর", "id-", "café", "naïve", "😀", "", "২০২৫", "এ"]
    return ["".join(rng.choice(pool) for _ in range(rng.randint(0, 4))) for _ in range(count)]


_COMPILED_ATOMS = linkstore._COMPILED
#: both confirmations where the compiled one is built (else the Python one alone)
PATHS = ["python", "compiled"] if _COMPILED_ATOMS is not None else ["python"]


def use_path(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """Run :meth:`Atoms._same` on ``path``'s confirmation."""
    monkeypatch.setattr(linkstore, "_COMPILED", _COMPILED_ATOMS if path == "compiled" else None)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("colliding", [False, True])
def test_bulk_atoms_match_one_at_a_time(
    monkeypatch: pytest.MonkeyPatch, colliding: bool, path: str
) -> None:
    use_path(monkeypatch, path)
    if colliding:
        monkeypatch.setattr(linkstore, "string_hash", lambda text: len(text) % 3)
    rng = random.Random(11)
    bulk, single = Atoms(), Atoms()
    for _ in range(6):
        batch = strings(rng, rng.randint(0, 60))
        assert bulk.intern_many(batch).tolist() == [single.intern(text) for text in batch]
        probe = strings(rng, 40)
        assert bulk.find_many(probe).tolist() == [single.find(text) for text in probe]
    atoms = [rng.randrange(-1, len(bulk)) for _ in range(200)]
    assert bulk.texts(atoms) == [single.text(atom) for atom in atoms]
    assert bulk.texts(range(len(bulk))) == [single.text(atom) for atom in range(len(single))]
    assert bulk.texts([]) == []
    assert bulk.texts([-1] * 20) == [""] * 20


@pytest.mark.parametrize("asked_count", [3, 40, 5000])
def test_get_many_matches_get_with_recent_adds(asked_count: int) -> None:
    """``Multimap.get_many`` gives every key's values, base and recent adds, whether the
    recent keys are few among the keys asked (found by numpy) or not (a lookup a key)."""
    rng = random.Random(asked_count)
    multimap = linkstore.Multimap(np.int64)
    base = np.array([rng.randrange(-(1 << 40), 1 << 40) for _ in range(3000)], dtype=np.int64)
    multimap.add_many(base, np.arange(len(base), dtype=np.int32))  # folded: the base
    recent = [int(base[0]), int(base[7]), 1 << 50, -(1 << 50), 12345]
    for number, key in enumerate(recent * 3):  # a few recent adds, some under base keys
        multimap.add(key, 10_000 + number)
    assert multimap._extra  # (still recent: not folded)
    pool = [*base.tolist()[:50], *recent, 99, -99]
    keys = np.array([rng.choice(pool) for _ in range(asked_count)], dtype=np.int64)
    values, owner = multimap.get_many(keys)
    got: list[list[int]] = [[] for _ in keys]
    for value, position in zip(values.tolist(), owner.tolist(), strict=True):
        got[position].append(value)
    assert [sorted(found) for found in got] == [sorted(multimap.get(k)) for k in keys.tolist()]
    assert any(len(found) > 1 for found in got) or asked_count < 40


@pytest.mark.parametrize("recent", [False, True])
def test_get_many_in_key_order_gives_the_same_pairs(
    monkeypatch: pytest.MonkeyPatch, recent: bool
) -> None:
    """Many asked keys are looked up in ascending order: the pairs, and their order, are
    those of the lookups in the order asked (repeated, missing and recent keys too)."""
    rng = random.Random(5)
    multimap = linkstore.Multimap(np.int64)
    base = np.array([rng.randrange(-(1 << 20), 1 << 20) for _ in range(6000)], dtype=np.int64)
    multimap.add_many(base, np.arange(len(base), dtype=np.int32))
    if recent:
        for number, key in enumerate(base[:30].tolist()):
            multimap.add(key, 50_000 + number)
    pool = [*base.tolist(), *range(-20, 20)]
    keys = np.array([rng.choice(pool) for _ in range(linkstore._SORTED_LOOKUPS * 2)], np.int64)
    values, owner = multimap.get_many(keys)
    monkeypatch.setattr(linkstore, "_SORTED_LOOKUPS", len(keys) + 1)  # in the order asked
    plain_values, plain_owner = multimap.get_many(keys)
    assert values.tolist() == plain_values.tolist()
    assert owner.tolist() == plain_owner.tolist()
    assert len(values) > len(keys) // 2


#: characters at the packed form's edges (ASCII, the Bengali block U+0980-U+09FF) and
#: outside it (stored as UTF-8), a NUL and a lone surrogate
_EDGE_CHARACTERS = "\x00a\x7f\x80\u097f\u0980\u09bc\u09ff\u0a00é😀\ud800"


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=200, deadline=None)
@given(
    stored=st.lists(st.text(alphabet=_EDGE_CHARACTERS, min_size=1, max_size=5), min_size=1),
    asked=st.lists(st.text(alphabet=_EDGE_CHARACTERS, min_size=1, max_size=5)),
)
def test_same_confirms_exactly(path: str, stored: list[str], asked: list[str]) -> None:
    """``Atoms._same`` (a hash hit confirmed) says whether each atom's string is the
    text beside it, exactly, on both paths: texts of other lengths, one character
    apart, either side of the packed form's edges, packed against UTF-8."""
    with pytest.MonkeyPatch.context() as patch:
        use_path(patch, path)
        atoms = Atoms()
        interned = atoms.intern_many(stored)
        texts = [*stored, *asked, *reversed(stored)]
        chosen = [*interned.tolist(), *(interned[k % len(interned)] for k in range(len(asked)))]
        chosen += list(reversed(interned.tolist()))
        same = atoms._same(np.array(chosen, dtype=np.int64), texts)
        expected = [atoms.text(atom) == text for atom, text in zip(chosen, texts, strict=True)]
        assert same.dtype == np.bool_
        assert same.tolist() == expected


@pytest.mark.skipif(_COMPILED_ATOMS is None, reason="the compiled _atoms was not built")
def test_compiled_confirmation_refuses_what_it_cannot_read() -> None:
    """``same_texts`` takes only the strings and atoms the Atoms table hands it: another
    object, an atom out of range or unequal lengths raise instead of reading memory."""
    atoms = Atoms()
    atoms.intern_many(["ঢাকা", "café"])
    arena = np.frombuffer(atoms._arena, dtype=np.uint8)
    starts = atoms._starts.data
    assert _COMPILED_ATOMS.same_texts(arena, starts, np.array([0, 1]), ["ঢাকা", "cafe"]).tolist() == [
        True,
        False,
    ]
    with pytest.raises(TypeError):
        _COMPILED_ATOMS.same_texts(arena, starts, np.array([0]), [b"x"])
    with pytest.raises(IndexError):
        _COMPILED_ATOMS.same_texts(arena, starts, np.array([-1]), ["x"])
    with pytest.raises(ValueError):
        _COMPILED_ATOMS.same_texts(arena, starts, np.array([0, 1]), ["x"])
