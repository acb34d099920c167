"""A fragment's markup: the compiled pieces (``_snippets.markup``, where nothing is to be
escaped) against the Python method, the reference, on random fragments: texts with and
without characters HTML escapes, spans in order, overlapping, outside the text or given
as a list, every edge truncated or not, and other marks and escapes."""

from __future__ import annotations

import html
import random

import pytest

from bnsearch.search import highlight
from bnsearch.search.highlight import Fragment

_snippets = pytest.importorskip("bnsearch.search._snippets")

_PIECES = ["বাংলা", " ", "লেখা", "a", "&", "<", ">", '"', "'", "।", "\n", "\U0001f600"]


def _fragments(count: int) -> list[Fragment]:
    rng = random.Random(29)
    fragments = []
    for _ in range(count):
        text = "".join(
            rng.choice(_PIECES[:4] if rng.random() < 0.6 else _PIECES)
            for _ in range(rng.randrange(0, 30))
        )
        cuts = sorted(rng.randrange(0, len(text) + 1) for _ in range(2 * rng.randrange(0, 5)))
        spans: tuple[tuple[int, int], ...] = tuple(zip(cuts[::2], cuts[1::2], strict=True))
        roll = rng.random()
        if roll < 0.1 and spans:  # out of order
            spans = spans[::-1]
        elif roll < 0.2:  # past the text, or before it
            spans = (*spans, (len(text) - 2, len(text) + 3), (-3, -1))
        fragment = Fragment(
            text=text,
            start=0,
            end=len(text),
            spans=list(spans) if roll > 0.95 else spans,  # type: ignore[arg-type]
            truncated_before=rng.random() < 0.5,
            truncated_after=rng.random() < 0.5,
        )
        fragments.append(fragment)
    return fragments


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"escape": None},
        {"pre": "[", "post": "]", "escape": None},
        {"pre": "<b>", "post": "</b>", "ellipsis": "..."},
        {"escape": str.upper},
        {"escape": html.escape, "ellipsis": ""},
    ],
)
def test_the_compiled_markup_is_the_python_markup(
    monkeypatch: pytest.MonkeyPatch, arguments: dict[str, object]
) -> None:
    fragments = _fragments(600)
    compiled = [fragment.markup(**arguments) for fragment in fragments]  # type: ignore[arg-type]
    monkeypatch.setattr(highlight, "_MARKUP", None)
    python = [fragment.markup(**arguments) for fragment in fragments]  # type: ignore[arg-type]
    assert compiled == python
    assert str(fragments[0]) == fragments[0].markup("[", "]", escape=None)


def test_the_compiled_markup_leaves_a_text_to_escape_and_odd_spans_to_python() -> None:
    assert _snippets.markup("a<b", ((0, 1),), "<m>", "</m>", "…", False, False) is None
    assert _snippets.markup("ab", ((1, 2), (0, 1)), "<m>", "</m>", "…", False, False) is None
    assert _snippets.markup("ab", ((0, 3),), "<m>", "</m>", "…", False, False) is None
    assert _snippets.markup("ab", [(0, 1)], "<m>", "</m>", "…", False, False) is None
    made = _snippets.markup("ab", ((0, 1),), "<m>", "</m>", "…", True, True)
    assert made == "…<m>a</m>b…"
