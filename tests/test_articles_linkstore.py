"""Articles room: the link graph's interned strings (:class:`bnsearch.articles.linkstore.
Atoms`) in bulk give what one at a time gives: :meth:`~Atoms.texts` of many atoms (packed
and UTF-8 strings, ``-1``), and :meth:`~Atoms.intern_many` / :meth:`~Atoms.find_many`
confirming hash hits by the strings, also when every string shares a few hashes."""

from __future__ import annotations

import random

import pytest

import bnsearch.articles.linkstore as linkstore
from bnsearch.articles.linkstore import Atoms


def strings(rng: random.Random, count: int) -> list[str]:
    """Bengali and ASCII (stored packed) and others (stored as UTF-8), some empty."""
    pool = ["ঢাকা", "খবর", "id-", "café", "naïve", "😀", "", "২০২৫", "এ"]
    return ["".join(rng.choice(pool) for _ in range(rng.randint(0, 4))) for _ in range(count)]


@pytest.mark.parametrize("colliding", [False, True])
def test_bulk_atoms_match_one_at_a_time(monkeypatch: pytest.MonkeyPatch, colliding: bool) -> None:
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
