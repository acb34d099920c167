"""The compiled key-map searches (``_rows.key_items``, ``_rows.keys_items``) give what the
numpy path (the reference) gives: on random sorted hash arrays with runs of equal
hashes, and on every map of a real links index (BeliN titles), each segment's and the
joined table's, for every key they hold and keys they do not."""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_index_link_lookup import belin, fresh_build, linked_articles

import bnsearch.index.linkmaps as linkmaps
from bnsearch.index import linkmaps as maps_module

_rows = pytest.importorskip("bnsearch.index._rows")


@pytest.mark.parametrize("seed", range(6))
def test_compiled_searches_match_searchsorted(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = int(rng.integers(0, 400))
    # few distinct values: long runs of one hash, the extremes of uint64 among them
    values = rng.choice(
        np.array([0, 1, 5, 2**63, 2**64 - 2, 2**64 - 1], dtype=np.uint64), size=size
    )
    hashes = np.sort(values)
    items = rng.permutation(size).astype(np.int32)
    asked = [0, 1, 2, 5, 6, 2**63, 2**64 - 2, 2**64 - 1, 2**62]
    lows = hashes.searchsorted(np.array(asked, dtype=np.uint64), side="left").tolist()
    highs = hashes.searchsorted(np.array(asked, dtype=np.uint64), side="right").tolist()
    expected = [items[low:high].tolist() for low, high in zip(lows, highs, strict=True)]
    assert [_rows.key_items(hashes, items, value) for value in asked] == expected
    assert _rows.keys_items(hashes, items, asked) == expected


def _answers(segments: list, keys: list[str]) -> list[object]:
    """Every map's candidates of ``keys`` (one by one and as a batch), and the joined
    table's, as the current path gives them."""
    batch = linkmaps.KeyBatch(keys)
    found: list[object] = []
    for segment in segments:
        for key_map in linkmaps.segment_maps(segment).values():
            found.append([key_map.candidates(key) for key in keys])
            found.append(key_map.candidates_many(batch))
    joined = linkmaps.JoinedDocMaps(segments)
    found.extend(joined.candidates_many(name, batch) for name in linkmaps.DOC_MAPS)
    return found


def test_a_links_index_maps_answer_alike_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    articles = linked_articles(belin(300), rng)
    index = fresh_build({article.id: article for article in articles})
    segments = list(index.reader().segments)
    keys = sorted(
        {linkmaps.link_url_key(a.url) for a in articles}
        | {a.id for a in articles}
        | {link.headline for a in articles for link in a.related}
    )
    keys += ["", "নেই এমন শিরোনাম"]
    assert any(
        len(m.hashes) > linkmaps.SMALL_MAP
        for s in segments
        for m in linkmaps.segment_maps(s).values()
    )  # (binary searches, not the small dict)
    monkeypatch.setattr(maps_module, "_COMPILED", _rows)  # (BNSEARCH_PURE_PYTHON too)
    compiled = _answers(segments, keys)
    monkeypatch.setattr(maps_module, "_COMPILED", None)
    assert _answers(segments, keys) == compiled
    assert any(any(row) for row in compiled)  # (keys found, not only empty answers)
