"""A new phrase's share of the compiled core's arguments from one compiled call
(:func:`bnsearch.search.phrases.pieces_df` over ``_positions.phrase_pieces``) equals the
engine's reads field by field (``Evaluator._read_parts``: the phrase frequencies of the
compiled path and of the numpy reference, the context's multipliers, no form flags), on
the shared corpora in three segments with deletes: phrases found in one field, in both,
nowhere, and of words some field lacks; its live df counted in the same call equals the
numpy count; a segment the call leaves out is read field by field (and counted by the
engine); the engine keeps a phrase's record as before. Skipped where the compiled reads
were not built (the numpy/Python path) or without ../shared."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bnsearch.index import Index
from bnsearch.search import Searcher, phrases, unitstats
from bnsearch.search.compiler import Unit
from bnsearch.search.engine import Evaluator
from bnsearch.search.plan import prepare
from bnsearch.search.unitstats import numpy_live_doc_freqs

from .conftest import corpora_with_deletes, query_path


def _needs_compiled() -> None:
    if phrases._compiled() is None or unitstats.core is None:
        pytest.skip("the compiled reads are not built (or the numpy path is asked for)")


@pytest.fixture(scope="module")
def corpus_index() -> Index:
    return corpora_with_deletes()


def _phrase_units(searcher: Searcher, text: str) -> list[Unit]:
    compiled = prepare(
        searcher._ctx, text, weights=searcher._weights(None), field_names=searcher._field_names
    ).compiled
    units = [compiled] if isinstance(compiled, Unit) else list(getattr(compiled, "should", []))
    return [unit for unit in units if unit.phrases]


def _reference(evaluator: Evaluator, unit: Unit) -> list[Any]:
    """Per segment the unit's pieces as the engine reads them field by field."""
    ctx = evaluator.ctx
    out = []
    for segment in evaluator.segments:
        parts = evaluator._read_parts(unit, segment)
        mults = [ctx.multiplier(segment, part[0], unit.weights[part[0]]) for part in parts]
        docs, tfs = [part[1] for part in parts], [part[2] for part in parts]
        out.append((parts, docs, tfs, mults, [None] * len(parts)))
    return out


def _same(got: Any, want: Any) -> None:
    parts, docs, tfs, mults, forms = got
    want_parts, _, _, want_mults, _ = want
    assert [(p[0], p[3]) for p in parts] == [(p[0], p[3]) for p in want_parts]
    for part, want_part in zip(parts, want_parts, strict=True):
        assert part[1].dtype == want_part[1].dtype and np.array_equal(part[1], want_part[1])
        assert part[2].dtype == want_part[2].dtype and np.array_equal(part[2], want_part[2])
    assert all(a is p[1] for a, p in zip(docs, parts, strict=True))
    assert all(a is p[2] for a, p in zip(tfs, parts, strict=True))
    assert all(a is b for a, b in zip(mults, want_mults, strict=True))
    assert forms == [None] * len(parts)


def _texts(reader: Any) -> list[str]:
    """Quoted phrases: pairs and triples of neighbouring body words (most found), pairs
    of words far apart (mostly found nowhere) and a word no field holds."""
    words = sorted({t for s in reader.segments for t in s.terms("body")})
    texts = []
    for segment in reader.segments:
        for doc in range(0, segment.max_doc, 41):
            body = segment.stored(doc).get("body", "").split()
            if len(body) > 12:
                texts.append(" ".join(body[4:6]))
                texts.append(" ".join(body[8:11]))
                texts.append(" ".join([body[4], body[5], body[4]]))  # (a word twice)
    texts += [f"{words[i]} {words[-1 - i]}" for i in range(0, len(words), len(words) // 30)]
    texts.append(f"{words[3]} {words[4]}ঃঃ")
    return [f'"{text}"' for text in texts]


def test_the_phrases_of_the_corpora_as_read_field_by_field(corpus_index: Index) -> None:
    _needs_compiled()
    reader = corpus_index.reader()
    segments = reader.segments
    assert len(segments) == 3 and all(s.del_count for s in segments[:2])
    searcher = Searcher(reader)
    ctx = searcher._ctx
    evaluator = Evaluator(ctx)
    checked = found = both = 0
    for text in _texts(reader):
        for unit in _phrase_units(searcher, text):
            got, df = phrases.pieces_df(ctx, unit)
            assert got is not None and len(got) == len(segments)
            compiled_reads = _reference(evaluator, unit)
            with query_path(None):  # (the numpy phrase frequencies: the reference)
                numpy_reads = _reference(evaluator, unit)
            for ours, want, numpy_want in zip(got, compiled_reads, numpy_reads, strict=True):
                _same(ours, want)
                _same(ours, numpy_want)
                found += bool(want[0])
                both += len(want[0]) == 2
            assert df == numpy_live_doc_freqs([[p[1] for p in got]], *ctx.lives())[0]
            checked += 1
    assert checked > 100 and found > 50 and both > 0 and found < 3 * checked


def test_a_segment_left_out_is_read_field_by_field(
    corpus_index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    _needs_compiled()
    reader = corpus_index.reader()
    searcher = Searcher(reader)
    text = next(  # (a phrase found in every segment)
        t
        for t in _texts(reader)
        for u in _phrase_units(searcher, t)
        if all(p is not None and p[0] for p in (phrases.pieces_df(searcher._ctx, u)[0] or [None]))
    )
    searcher = Searcher(reader)  # (its layouts made anew)
    evaluator = Evaluator(searcher._ctx)
    left_out = reader.segments[1]
    # (a field whose held table does not serve: an anchor field under updates, say)
    monkeypatch.setattr(left_out, "position_table", lambda field: None)
    (unit,) = _phrase_units(searcher, text)
    got, df = phrases.pieces_df(searcher._ctx, unit)
    assert got is not None and got[1] is None and got[0] is not None
    assert df == -1  # (not counted whole: the engine counts it)
    pieces = evaluator._unit_pieces(unit, got)
    for ours, want in zip(pieces, _reference(evaluator, unit), strict=True):
        _same(ours, want)
    (record,) = evaluator._records([unit])
    assert record.df == numpy_live_doc_freqs([[p[1] for p in pieces]], *searcher._ctx.lives())[0]
    assert record.df > 0


def test_the_engine_keeps_a_phrase_s_record_made_in_one_call(corpus_index: Index) -> None:
    """The frequencies of the fused call go into the slice cache as ``parts`` keeps
    them: the record is kept, and ``parts`` gives the same arrays back."""
    _needs_compiled()
    reader = corpus_index.reader()
    searcher = Searcher(reader)
    ctx = searcher._ctx
    evaluator = Evaluator(ctx)
    units = [u for t in _texts(reader)[:40] for u in _phrase_units(searcher, t)]
    records = evaluator._records(units)
    assert any(record.pieces[0][0] for record in records)
    for unit, record in zip(units, records, strict=True):
        assert record.kept and ctx.units[id(unit)] is record
        for ordinal, segment in enumerate(reader.segments):
            assert evaluator.parts(unit, segment) is record.pieces[ordinal][0]
    assert evaluator._records(units) == records
