"""A phrase searched alone keeps the compiled core's arguments in its record
(``UnitArgs.alone``) exactly when the slice cache holds its phrase frequencies (the
record's own check, ``UnitArgs.kept``: nothing is read after a lone unit's record is
made, so ``Evaluator._segment_calls`` asks nothing again); a phrase too long for that
cache lays its arguments out afresh each time, with the same arrays' values. Skipped
where the compiled core was not built (the numpy/Python path) or without ../shared."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bnsearch.index import Index
from bnsearch.search import Searcher, engine, kernel
from bnsearch.search.compiler import Unit
from bnsearch.search.engine import Evaluator, UnitArgs
from bnsearch.search.plan import prepare

from .conftest import corpora_with_deletes


@pytest.fixture(scope="module")
def corpus_index() -> Index:
    return corpora_with_deletes()


def _phrase_units(reader: Any, searcher: Searcher) -> list[Unit]:
    """Lone phrases of neighbouring body words (most found in some segment)."""
    units = []
    for segment in reader.segments:
        for doc in range(0, segment.max_doc, 97):
            body = segment.stored(doc).get("body", "").split()
            if len(body) > 8:
                compiled = prepare(
                    searcher._ctx,
                    '"' + " ".join(body[4:6]) + '"',
                    weights=searcher._weights(None),
                    field_names=searcher._field_names,
                ).compiled
                if isinstance(compiled, Unit) and compiled.phrases:
                    units.append(compiled)
    return units


def _calls(evaluator: Evaluator, unit: Unit) -> tuple[list[Any], UnitArgs | None]:
    """The lone unit's calls and the record they were laid out from (None: taken
    whole from the record's ``alone``, nothing laid out)."""
    seen: list[UnitArgs] = []
    records = evaluator._records

    def recording(units: Any) -> list[UnitArgs]:
        found = records(units)
        seen.extend(found)
        return found

    evaluator._records = recording  # type: ignore[method-assign]
    try:
        calls = evaluator._segment_calls(kernel.core, [unit], False, 10)
    finally:
        del evaluator._records
    assert len(seen) <= 1
    return calls, seen[0] if seen else None


def _values(value: Any) -> Any:
    """``value`` with its arrays as lists (nested), to compare by value."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_values(item) for item in value]
    return value


@pytest.mark.parametrize("kept_limit", [engine.PHRASE_PARTS_KEPT, 0])
def test_a_lone_phrase_keeps_its_calls_only_where_its_frequencies_are_kept(
    corpus_index: Index, monkeypatch: pytest.MonkeyPatch, kept_limit: int
) -> None:
    if kernel.core is None:
        pytest.skip("the compiled core is not built (or the numpy path is asked for)")
    monkeypatch.setattr(engine, "PHRASE_PARTS_KEPT", kept_limit)
    reader = corpus_index.reader()
    searcher = Searcher(reader)
    units = _phrase_units(reader, searcher)
    assert len(units) >= 5
    found_some = False
    for unit in units:
        evaluator = Evaluator(searcher._ctx)
        calls, record = _calls(evaluator, unit)
        assert record is not None
        postings = sum(len(d) for pieces in record.pieces for d in pieces[1])
        found_some = found_some or postings > 0
        # (at 0 a phrase found anywhere is too long for the slice cache)
        kept = postings == 0 or kept_limit > 0
        assert record.kept is kept
        assert (record.alone is not None) is kept
        again, laid_from = _calls(evaluator, unit)
        assert (again is calls) is kept
        assert (laid_from is None) is kept
        assert _values([c[0] for c in again]) == _values([c[0] for c in calls])
    assert found_some
