"""Index room: a field's term dictionary searched in compiled code
(:class:`bnsearch.index._terms.TermTable`) finds the ordinal the bisect of the decoded
terms finds (:func:`bnsearch.index.segment._ordinal`): every term of the shared corpora's
fields and near misses, runs of terms sharing their first 8 bytes, NULs, an empty
table and a damaged one. Skipped where the module was not built or without ../shared."""

from __future__ import annotations

import importlib
import random
from types import ModuleType

import numpy as np
import pytest

from bnsearch.articles import read_articles
from bnsearch.compiled import pure_python_requested
from bnsearch.index import Index
from bnsearch.index.segment import _ordinal

from .conftest import index_of, shared_file


def _module() -> ModuleType:
    try:
        return importlib.import_module("bnsearch.index._terms")
    except ImportError as error:  # pragma: no cover - depends on the build
        pytest.skip(f"the compiled term tables are not built: {error}")


def _segments_use_tables() -> None:
    """Skip unless segments serve lookups by the compiled tables (built, and the
    numpy/Python path not asked for by ``BNSEARCH_PURE_PYTHON``)."""
    _module()
    if pure_python_requested():
        pytest.skip("the numpy/Python path was asked for: segments search without the tables")


def _table(terms: list[str], wide: bool = False) -> tuple[np.ndarray, np.ndarray]:
    encoded = [t.encode() for t in terms]
    off = np.zeros(len(encoded) + 1, dtype=np.int64 if wide else np.uint32)
    off[1:] = np.cumsum([len(e) for e in encoded])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), off


def _probes(terms: list[str]) -> list[str]:
    out = ["", "\x00", "\uffff", "a", "\U0010ffff" * 3]
    for term in terms:
        out += [term, term[:-1], term + "\x00", term + "্", term[:-1] + "\uffff"]
    return out


def _agrees(module: ModuleType, terms: list[str], wide: bool = False) -> int:
    table = module.TermTable(*_table(terms, wide))
    assert len(table) == len(terms)
    probes = _probes(terms)
    for probe in probes:
        assert table.find(probe.encode()) == _ordinal(terms, probe), probe
    return len(probes)


@pytest.fixture(scope="module")
def corpus_index() -> Index:
    bqa = list(read_articles(shared_file("corpus/bqa_passages.jsonl")))
    belin = list(read_articles(shared_file("corpus/belin_religious_news.jsonl")))
    return index_of(bqa, belin)


def test_every_term_of_the_corpora_and_near_misses(corpus_index: Index) -> None:
    module = _module()
    checked = 0
    for segment in corpus_index.reader().segments:
        for field in segment.schema.names:
            terms = segment.terms(field)
            arrays = segment._field(field)
            table = module.TermTable(arrays.blob, arrays.off)
            for probe in _probes(terms):
                want = _ordinal(terms, probe)
                assert table.find(probe.encode()) == want, (field, probe)
                assert segment.term_id(field, probe) == want
                checked += 1
    assert checked > 100_000


def test_runs_sharing_their_first_eight_bytes_and_nuls() -> None:
    module = _module()
    rng = random.Random(3)
    alphabet = ["ক", "খ", "া", "্", "a", "b", "\x00", "z"]
    for trial in range(200):
        stem = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))
        count = rng.randint(0, 300)
        words = {
            stem + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
            for _ in range(count)
        }
        _agrees(module, sorted(words), wide=trial % 2 == 1)


def test_an_empty_and_a_damaged_table_find_nothing() -> None:
    module = _module()
    assert module.TermTable(np.zeros(0, np.uint8), np.zeros(1, np.uint32)).find(b"a") == -1
    assert module.TermTable(np.zeros(0, np.uint8), np.zeros(0, np.uint32)).find(b"") == -1
    blob, off = _table(["ক", "খ", "গ"])
    off[2] = 100  # past the blob
    assert module.TermTable(blob, off).find("ক".encode()) == -1


def test_blocks_of_a_slice_by_the_tables_bisect_are_those_searched(
    corpus_index: Index,
) -> None:
    """:meth:`SegmentReader.blocks` finds the term of a slice by its table's compiled
    bisect (:meth:`TermTable.ordinal_at`) instead of searching ``indptr``: the same
    blocks, and None for a length that is not the term's."""
    _segments_use_tables()
    checked = 0
    for segment in corpus_index.reader().segments:
        assert segment.word_table("body") is not None
        arrays = segment._field("body")
        for term in segment.terms("body")[::7]:
            parts = segment.term_slices(term, ("body",))
            assert len(parts) == 1
            _, docs, _, start = parts[0]
            found = segment.blocks("body", start, len(docs))
            arrays.held = False  # (the table set aside: indptr searched)
            want = segment.blocks("body", start, len(docs))
            arrays.held = True
            assert (found is None) == (want is None)
            if found is not None and want is not None:
                for a, b in zip(found, want, strict=True):
                    assert (a is None and b is None) or np.array_equal(a, b)
                checked += 1
                assert segment.blocks("body", start, len(docs) - 1) is None
    assert checked > 50


def test_doc_freq_by_the_table_counts_the_terms_postings(corpus_index: Index) -> None:
    """Where nothing is deleted, :meth:`SegmentReader.doc_freq` is the term's postings
    count read from its table (:meth:`TermTable.postings_count`): the same figure as its
    postings' length, for every tenth term of each field and near misses."""
    module = _module()
    checked = 0
    for segment in corpus_index.reader().segments:
        assert not segment.del_count
        for field in ("title", "body", "section"):
            terms = segment.terms(field)
            for probe in _probes(terms[::10]):
                found = segment.postings(field, probe)
                want = 0 if found is None else len(found[0])
                assert segment.doc_freq(field, probe) == want, (field, probe)
                checked += 1
    assert checked > 10_000
    assert module.TermTable(*_table(["ক"])).postings_count("ক".encode()) == -1  # (no postings)


def test_position_runs_by_the_table_are_those_looked_up(corpus_index: Index) -> None:
    """:meth:`SegmentReader.position_run` reads a term's postings and first position
    from its field's held table (:meth:`TermTable.position_run`, one compiled call):
    the same arrays and first position as the lookup by ordinal, for every fifth term of
    title and body and near misses (None for a term the field lacks)."""
    _segments_use_tables()
    checked = 0
    for segment in corpus_index.reader().segments:
        for field in ("title", "body"):
            arrays = segment._field(field)
            terms = segment.terms(field)
            probes = _probes(terms[::5])
            found = [segment.position_run(field, probe) for probe in probes]
            assert arrays.runs is not None and arrays.runs is not False  # (it served them)
            arrays.runs = False  # (set aside: the ordinal's lookup serves)
            want = [segment.position_run(field, probe) for probe in probes]
            arrays.runs = None
            for probe, a, b in zip(probes, found, want, strict=True):
                assert (a is None) == (b is None), (field, probe)
                if a is not None and b is not None:
                    assert np.array_equal(a[0], b[0]) and a[0].dtype == b[0].dtype
                    assert np.array_equal(a[1], b[1]) and a[1].dtype == b[1].dtype
                    assert a[2] == b[2] and a[3] is b[3]
                    checked += 1
    assert checked > 5_000


def test_a_table_holds_position_pointers_only_with_its_postings() -> None:
    module = _module()
    table = module.TermTable(*_table(["ক", "খ", "গ"]))
    docs, tfs = np.arange(5, dtype=np.uint16), np.array([1, 2, 1, 3, 1], dtype=np.uint8)
    posptr = np.array([0, 3, 3], dtype=np.uint32)
    assert not table.hold_positions(posptr)  # (no postings held yet)
    with pytest.raises(ValueError):
        table.position_run("ক".encode())
    assert table.hold(np.array([0, 2, 2, 5], np.uint32), docs, tfs, None)
    assert not table.hold_positions(posptr[:2])  # (too short)
    assert not table.hold_positions(posptr.astype(np.int32))  # (its dtype)
    for pointers in (posptr, posptr.astype(np.int64)):
        assert table.hold_positions(pointers)
        run = table.position_run("গ".encode())
        assert run is not None and run[2] == 3
        assert run[0].tolist() == [2, 3, 4] and run[1].tolist() == [1, 3, 1]
        empty = table.position_run("খ".encode())
        assert empty is not None and len(empty[0]) == 0 and empty[2] == 3
        assert table.position_run(b"x") is None
