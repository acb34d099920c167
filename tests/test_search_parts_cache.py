"""The per-snapshot cache of posting slices holds a bounded number of bytes of phrase
frequencies (new arrays, unlike the term slices, which are views of the segment)."""

from __future__ import annotations

import itertools

import pytest

from bnsearch.articles import read_articles
from bnsearch.search import Searcher, engine

from .conftest import index_of, shared_file


def _held(searcher: Searcher) -> int:
    return sum(
        part[1].nbytes + part[2].nbytes
        for _, parts in searcher._ctx.parts.values()
        for part in parts
        if part[3] == -1
    )


def _calls_hold_only_kept_phrases(searcher: Searcher) -> bool:
    """The core's kept arguments (and the per-unit pieces they are laid out from) refer
    to a phrase's frequencies only while the slice cache holds them (so its byte bound
    bounds both)."""
    ctx = searcher._ctx
    called = all(
        ctx.parts.get((id(unit), segment.ordinal)) is not None
        for units, _ in ctx.calls.values()
        for unit in units
        if unit.phrases
        for segment in ctx.reader.segments
    )
    # (and so do the per-unit pieces the core's arguments are laid out from)
    pieced = all(
        pieces[0] is ctx.parts[(id(record.unit), segment.ordinal)][1]
        for record in ctx.units.values()
        if record.unit.phrases
        for segment, pieces in zip(ctx.reader.segments, record.pieces, strict=True)
    )
    return called and pieced


def test_phrase_frequencies_kept_stay_under_the_byte_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    belin = list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))[:600]
    reader = index_of(belin[:300], belin[300:]).reader()
    words = [w for a in belin[:40] for w in a.title.split() if len(w) > 2][:30]
    phrases = [f'"{a} {b}"' for a, b in itertools.pairwise(words)]
    phrases += [f'"{a} {b}"' for a, b in zip(words[::2], words[1::2], strict=False)]
    # two phrases and a word: one bag of units (a later phrase's reads may let go the
    # frequencies of an earlier one, read for the same search)
    phrases += [
        f'"{a} {b}" "{c} {d}" {a}'
        for a, b, c, d in zip(words, words[1:], words[2:], words[3:], strict=False)
    ]
    bound = 512  # bytes: a few phrases' frequencies (unbounded, these keep about 1.8 KB)
    monkeypatch.setattr(engine, "PARTS_CACHE_BYTES", bound)
    bounded = Searcher(reader)
    held = []
    for phrase in phrases * 2:  # the second round reads the kept plans and slices
        page = bounded.search(phrase, stored=False, highlight=False)
        assert page.ids == Searcher(reader).search(phrase, stored=False, highlight=False).ids
        held.append(_held(bounded))
        assert held[-1] == bounded._ctx.parts_bytes
        assert held[-1] <= bound, phrase
        assert _calls_hold_only_kept_phrases(bounded), phrase
    assert max(held) > 0  # phrases were kept: the bound was exercised, not avoided
