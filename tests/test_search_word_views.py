"""The posting views :func:`bnsearch.index._terms.word_pieces` makes itself (without
numpy's slicing) are what numpy's slice gives: the same dtype, values, memory,
writeability, and a base that keeps the postings alive; arrays it cannot view so (a
subclass, another byte order, not contiguous) are sliced by numpy as before. Skipped
where the compiled term tables were not built (the numpy/Python path)."""

from __future__ import annotations

import gc
import importlib
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from bnsearch.search import wordpieces


def _module() -> ModuleType:
    if wordpieces._TERMS is None:
        pytest.skip("the compiled term tables are not built (or the numpy path is asked for)")
    return importlib.import_module("bnsearch.index._terms")


def _table(module: ModuleType, docs: Any, tfs: Any, forms: Any) -> Any:
    blob = np.frombuffer("কখগ".encode(), dtype=np.uint8)
    table = module.TermTable(blob, np.array([0, 3, 6, 9], dtype=np.uint32))
    assert table.hold(np.array([0, 2, 3, 6], np.uint32), docs, tfs, forms)
    return table


def _found(module: ModuleType, table: Any, term: str) -> tuple[Any, Any, Any]:
    (found,) = module.word_pieces(term.encode(), [[("body", table, None)]])
    parts, docs, tfs, _, forms = found
    assert parts[0][1] is docs[0] and parts[0][2] is tfs[0]
    return docs[0], tfs[0], forms[0]


def _same_as_slice(got: Any, array: Any, start: int, end: int) -> None:
    want = array[start:end]
    assert type(got) is type(want) and got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)
    assert got.__array_interface__["data"] == want.__array_interface__["data"]
    assert got.flags.writeable == want.flags.writeable and not got.flags.owndata


@pytest.mark.parametrize("writeable", [True, False])
@pytest.mark.parametrize("doc_type", [np.uint16, np.int32])
def test_views_equal_numpy_slices(writeable: bool, doc_type: Any) -> None:
    module = _module()
    docs = np.array([3, 9, 4, 1, 7, 8], dtype=doc_type)
    tfs = np.array([1, 2, 3, 4, 5, 6], dtype=np.uint8)
    forms = np.array([0, 1, 2, 3, 4, 5], dtype=np.uint8)
    for array in (docs, tfs, forms):
        array.flags.writeable = writeable
    table = _table(module, docs, tfs, forms)
    for term, (start, end) in (("ক", (0, 2)), ("খ", (2, 3)), ("গ", (3, 6))):
        got_docs, got_tfs, got_forms = _found(module, table, term)
        _same_as_slice(got_docs, docs, start, end)
        _same_as_slice(got_tfs, tfs, start, end)
        _same_as_slice(got_forms, forms, start, end)


def test_a_view_keeps_its_postings_alive() -> None:
    module = _module()
    docs = np.arange(100, 106, dtype=np.uint16)
    table = _table(module, docs, np.ones(6, dtype=np.uint8), None)
    got, _, forms = _found(module, table, "গ")
    del table, docs
    gc.collect()
    assert forms is None and got.tolist() == [103, 104, 105]


def test_arrays_not_viewed_directly_are_sliced_by_numpy(tmp_path: Any) -> None:
    module = _module()
    path = tmp_path / "docs.u16"
    np.arange(6, dtype=np.uint16).tofile(path)
    mapped = np.memmap(path, dtype=np.uint16, mode="r")  # (a subclass: stays one)
    swapped = np.arange(6, dtype=">u2")  # (another byte order)
    strided = np.arange(12, dtype=np.uint16)[::2]  # (not contiguous)
    tfs = np.ones(6, dtype=np.uint8)
    for docs in (mapped, swapped, strided):
        got, got_tfs, _ = _found(module, _table(module, docs, tfs, None), "গ")
        _same_as_slice(got, docs, 3, 6)
        _same_as_slice(got_tfs, tfs, 3, 6)
