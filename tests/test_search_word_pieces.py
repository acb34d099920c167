"""A word's share of the compiled core's arguments from one compiled call
(:func:`bnsearch.search.wordpieces.pieces_df` over :func:`bnsearch.index._terms.word_pieces`)
equals the engine's lookups slice by slice (``Evaluator.parts``, ``_part_forms``, the
context's multipliers), on the shared corpora in three segments with deletes: words of
every field, words not held, spelling variants as the compiler makes them; a segment the
call leaves out is read slice by slice (and its live df counted by the engine); a
word's live df counted in the same call equals the numpy count; a term table's
compiled bisect by first posting (:meth:`TermTable.ordinal_at`) finds the ordinal
``indptr``'s search finds. Skipped where the compiled term tables were not built (the
numpy/Python path) or without ../shared."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from bnsearch.index import Index
from bnsearch.search import Searcher, unitstats, wordpieces
from bnsearch.search.compiler import Unit
from bnsearch.search.engine import Evaluator
from bnsearch.search.plan import prepare
from bnsearch.search.unitstats import numpy_live_doc_freqs

from .conftest import corpora_with_deletes


def _module() -> ModuleType:
    if wordpieces._TERMS is None:
        pytest.skip("the compiled term tables are not built (or the numpy path is asked for)")
    return importlib.import_module("bnsearch.index._terms")


@pytest.fixture(scope="module")
def corpus_index() -> Index:
    return corpora_with_deletes()


def _reference(evaluator: Evaluator, unit: Unit) -> list[Any]:
    """Per segment the unit's pieces as the engine's lookups make them."""
    ctx = evaluator.ctx
    out = []
    for segment in evaluator.segments:
        parts = evaluator._read_parts(unit, segment)
        out.append(
            (
                parts,
                [part[1] for part in parts],
                [part[2] for part in parts],
                [ctx.multiplier(segment, part[0], unit.weights[part[0]]) for part in parts],
                [evaluator._part_forms(unit, segment, part) for part in parts],
            )
        )
    return out


def _same(got: Any, want: Any, same: bool = True) -> None:
    parts, docs, tfs, mults, forms = got
    want_parts, want_docs, want_tfs, want_mults, want_forms = want
    assert [(p[0], p[3]) for p in parts] == [(p[0], p[3]) for p in want_parts]
    for part, want_part in zip(parts, want_parts, strict=True):
        assert part[1].dtype == want_part[1].dtype and np.array_equal(part[1], want_part[1])
        assert np.array_equal(part[2], want_part[2])
    for found, wanted in zip(docs + tfs, want_docs + want_tfs, strict=True):
        assert np.array_equal(found, wanted)
    assert all(np.array_equal(a, b) for a, b in zip(mults, want_mults, strict=True))
    assert not same or all(a is b for a, b in zip(mults, want_mults, strict=True))
    for found, wanted in zip(forms, want_forms, strict=True):
        assert (found is None) == (wanted is None)
        assert found is None or np.array_equal(found, wanted)


def _units(searcher: Searcher, text: str) -> list[Unit]:
    compiled = prepare(
        searcher._ctx, text, weights=searcher._weights(None), field_names=searcher._field_names
    ).compiled
    if compiled is None:
        return []
    return [compiled] if isinstance(compiled, Unit) else list(getattr(compiled, "should", []))


def test_the_words_of_the_corpora_found_missing_and_their_variants(
    corpus_index: Index,
) -> None:
    _module()
    reader = corpus_index.reader()
    segments = reader.segments
    assert len(segments) == 3 and all(s.del_count for s in segments[:2])
    searcher = Searcher(reader)
    evaluator = Evaluator(searcher._ctx)
    words = sorted({t for s in segments for t in s.terms("title")})[::5]
    words += [w + "ঃঃ" for w in words[::20]]  # (held nowhere)
    words += sorted({t for s in segments for t in s.terms("body")})[::97]
    checked = found = variants = 0
    for word in words:
        for unit in _units(searcher, word):
            got = wordpieces.pieces_df(searcher._ctx, unit)[0]
            assert got is not None and len(got) == len(segments)
            for ours, want in zip(got, _reference(evaluator, unit), strict=True):
                _same(ours, want)
                found += bool(want[0])
            checked += 1
            variants += "~" in unit.label
    assert checked > 1000 and found > 1000 and variants > 100


def test_the_engine_records_equal_those_read_slice_by_slice(
    corpus_index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    _module()
    reader = corpus_index.reader()
    texts = ["বাংলাদেশ", "ঢাকা শহর", "মসজিদ নামাজ ইসলাম", "সরকার", "খেলা"]
    made = []
    for fused in (True, False):
        if not fused:
            monkeypatch.setattr(wordpieces, "_TERMS", None)
        searcher = Searcher(reader)
        evaluator = Evaluator(searcher._ctx)
        records = [evaluator._records(_units(searcher, text)) for text in texts]
        made.append([[(r.df, r.pieces) for r in found] for found in records])
    assert sum(map(len, made[0])) > len(texts)
    for ours, want in zip(made[0], made[1], strict=True):
        assert [df for df, _ in ours] == [df for df, _ in want]
        for (_, pieces), (_, want_pieces) in zip(ours, want, strict=True):
            for got, wanted in zip(pieces, want_pieces, strict=True):
                _same(got, wanted, same=False)


def test_a_segment_left_out_is_read_slice_by_slice(
    corpus_index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    _module()
    reader = corpus_index.reader()
    searcher = Searcher(reader)
    evaluator = Evaluator(searcher._ctx)
    left_out = reader.segments[1]
    # (a field the table cannot hold: an anchor field under updates, say)
    monkeypatch.setattr(left_out, "word_table", lambda field: None)
    unit = _units(searcher, "বাংলাদেশ")[0]
    got = wordpieces.pieces_df(searcher._ctx, unit)[0]
    assert got is not None and got[1] is None and got[0] is not None
    pieces = evaluator._unit_pieces(unit, got)
    for ours, want in zip(pieces, _reference(evaluator, unit), strict=True):
        _same(ours, want)
    # the fused call does not count a word it could not read whole: the engine does
    assert wordpieces.pieces_df(searcher._ctx, unit)[1] == -1
    (record,) = evaluator._records([unit])
    assert record.df == numpy_live_doc_freqs([[p[1] for p in pieces]], *searcher._ctx.lives())[0]
    assert record.df > 0


def test_a_word_s_live_df_counted_with_its_pieces(corpus_index: Index) -> None:
    """The one call a new word (pieces and live df) counts as :func:`live_doc_freqs`
    does, over segments with deletions and without."""
    _module()
    if unitstats.core is None:
        pytest.skip("the compiled count was not built")
    reader = corpus_index.reader()
    searcher = Searcher(reader)
    ctx = searcher._ctx
    words = sorted({t for s in reader.segments for t in s.terms("title")})[::40]
    counted = 0
    for word in words:
        for unit in _units(searcher, word):
            pieces, df = wordpieces.pieces_df(ctx, unit)
            assert pieces is not None and None not in pieces
            want = numpy_live_doc_freqs([[p[1] for p in pieces]], *ctx.lives())[0]
            assert df == want
            counted += df > 0
    assert counted > 20


def test_ordinal_at_finds_the_term_of_a_first_posting(corpus_index: Index) -> None:
    _module()
    checked = 0
    for segment in corpus_index.reader().segments:
        for field in ("title", "body"):
            table = segment.word_table(field)
            indptr = segment._field(field).indptr
            for ordinal in range(0, len(indptr) - 1, 3):
                start = int(indptr[ordinal])
                want = int(indptr.searchsorted(indptr.dtype.type(start), side="right")) - 1
                assert table.ordinal_at(start) == want
                checked += 1
            assert table.ordinal_at(int(indptr[-1])) == -1  # (past the last term's)
            assert table.ordinal_at(-1) == -1
    assert checked > 10_000


def test_a_table_holds_only_postings_that_fit() -> None:
    module = _module()
    blob = np.frombuffer("কখগ".encode(), dtype=np.uint8)
    off = np.array([0, 3, 6, 9], dtype=np.uint32)
    docs = np.arange(5, dtype=np.uint16)
    tfs = np.ones(5, dtype=np.uint8)
    table = module.TermTable(blob, off)
    assert table.ordinal_at(0) == -2  # (holds nothing yet)
    assert not table.hold(np.array([0, 2, 4], np.uint32), docs, tfs, None)  # (too short)
    assert not table.hold(np.array([0, 2, 9, 5], np.uint32), docs, tfs, None)  # (past the end)
    assert not table.hold(np.array([0, 3, 2, 5], np.uint32), docs, tfs, None)  # (falling)
    assert not table.hold(np.array([0, 2, 4, 5], np.int32), docs, tfs, None)  # (its dtype)
    assert not table.hold(np.array([0, 2, 4, 5], np.uint32), docs, tfs[:4], None)
    with pytest.raises(ValueError):
        module.word_pieces("খ".encode(), [[("title", table, None)]])
    for indptr in (np.array([0, 2, 2, 5], np.uint32), np.array([0, 2, 2, 5], np.int64)):
        assert table.hold(indptr, docs, tfs, None)
        (found,) = module.word_pieces("গ".encode(), [[("title", table, "m")], None])[:1]
        parts, found_docs, found_tfs, mults, forms = found
        assert [(p[0], p[3]) for p in parts] == [("title", 2)] and mults == ["m"]
        assert found_docs[0].tolist() == [2, 3, 4] and forms == [None]
        assert found_tfs[0].tolist() == [1, 1, 1]
        # an empty list (খ) and a missing term find nothing
        assert module.word_pieces("খ".encode(), [[("title", table, "m")]])[0][0] == []
        assert module.word_pieces(b"x", [[("title", table, "m")]])[0][0] == []
        assert module.word_pieces("গ".encode(), [None]) == [None]
        assert table.ordinal_at(2) == 2 and table.ordinal_at(1) == -1
