"""The token: one word of a text, with its term, position and offsets into the original."""

from __future__ import annotations

import attrs


@attrs.frozen(slots=True)
class Token:
    """One analysed word.

    ``start``/``end`` are Python ``str`` indices into the *original* text, so
    ``text[start:end]`` is the surface form exactly as written (with any ZWJ, nukta
    encoding or Bengali digits it had). ``term`` is what the index stores. ``position``
    counts words from 0; stopwords keep their positions, so phrases still line up.
    """

    term: str
    position: int
    start: int
    end: int
