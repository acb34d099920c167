"""A string table encoded by the compiled encoder (``_rows.string_table``) against the
Python one, the reference (``segment._encode_strings``): the same blob bytes, offsets
and offset dtype for any strings (empty, NUL, Latin-1, Bengali, non-BMP), the same
error for a string UTF-8 cannot hold, and link commits' segment files byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_index_values_compiled import _link_commits

from bnsearch.index import segment

compiled = pytest.importorskip("bnsearch.index._rows")


def _compiled(values: list[Any], offsets_of: Any = segment._offsets_of) -> Any:
    return compiled.string_table(values, segment._blob_of, offsets_of)


def _same(values: list[str]) -> None:
    blob, offsets = _compiled(values)
    want_blob, want_offsets = segment._encode_strings(values)
    assert blob.dtype == np.uint8
    assert blob.tobytes() == want_blob.tobytes()
    assert offsets.dtype == want_offsets.dtype == np.uint32
    assert offsets.tolist() == want_offsets.tolist()
    # the int64 offsets a table of 4 GB or more gets: the same values
    _, wide = _compiled(values, lambda count, size: np.empty(count + 1, dtype=np.int64))
    assert wide.dtype == np.int64
    assert wide.tolist() == want_offsets.tolist()
    assert segment.decode_strings(blob, offsets) == values


@pytest.mark.parametrize(
    "values",
    [
        [],
        [""],
        ["", ""],
        ["abc"],
        ["a", "বাংলা", "", "x\x00y", "z"],
        ["\x00", "\x00\x00"],
        ["é", "ÿ\x7f\x80", "\u07ff\u0800", "\uffff"],
        ["😀", "a😀ক", "\U0010ffff", "\U00010000"],
        ["ককক", "", "b", ""],
    ],
)
def test_compiled_tables_are_the_reference(values: list[str]) -> None:
    _same(values)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=20))
def test_compiled_tables_are_the_reference_for_any_strings(values: list[str]) -> None:
    _same(values)


@pytest.mark.parametrize("bad", ["a\ud800", "ক\udfff", "😀\udbff", "\udc00"])
def test_a_surrogate_is_left_to_the_reference_which_raises(bad: str) -> None:
    assert _compiled(["ok", bad]) is None
    for encode in (segment.encode_strings, segment._encode_strings):
        with pytest.raises(UnicodeEncodeError):
            encode(["ok", bad])


def test_a_value_not_a_str_is_left_to_the_reference() -> None:
    assert _compiled(["a", None]) is None
    with pytest.raises(TypeError):
        segment.encode_strings(["a", None])  # type: ignore[list-item]


def test_string_tables_cut_from_one_encode_are_each_tables_own() -> None:
    tables = [["a", "বাংলা"], [], ["", "😀"], ["x\x00"]]
    for (blob, offsets), table in zip(segment.encode_string_tables(tables), tables, strict=True):
        want_blob, want_offsets = segment._encode_strings(table)
        assert blob.tobytes() == want_blob.tobytes()
        assert offsets.dtype == want_offsets.dtype
        assert offsets.tolist() == want_offsets.tolist()


def test_link_commits_write_the_same_files_with_either_encoder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A links index's segment files and anchor updates, commit after commit, are byte
    for byte the same whichever encoder made their string tables."""
    monkeypatch.setattr(segment, "_ROWS", compiled)
    got = _link_commits(tmp_path / "compiled")
    monkeypatch.setattr(segment, "_ROWS", None)
    want = _link_commits(tmp_path / "reference")
    assert list(got) == list(want)
    for name, data in want.items():
        assert got[name] == data, name
