"""The only module that imports PyICU: word segmentation and transliteration.

ICU reports offsets in UTF-16 code units; this module converts them to Python ``str``
indices (code points), so callers never see the difference, even for emoji or other
characters outside the Basic Multilingual Plane.
"""

from __future__ import annotations

import threading

import icu

#: Rule status ranges of ICU's word break iterator (UBRK_WORD_*): 0-99 are spaces and
#: punctuation; 100-199 numbers; 200-299 letters; 300-399 kana; 400-499 ideographs.
_FIRST_WORD_STATUS = 100

ICU_VERSION: str = str(icu.ICU_VERSION)
PYICU_VERSION: str = str(icu.VERSION)

_local = threading.local()


def _word_iterator() -> icu.BreakIterator:
    # BreakIterator objects are not thread-safe: one per thread.
    iterator = getattr(_local, "words", None)
    if iterator is None:
        iterator = icu.BreakIterator.createWordInstance(icu.Locale.getRoot())
        _local.words = iterator
    return iterator


def word_spans(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` code-point spans of the words, numbers and Latin words.

    Spaces, punctuation (including the danda ``।`` and ``॥``) and symbols are dropped.
    """
    iterator = _word_iterator()
    iterator.setText(text)
    spans: list[tuple[int, int]] = []
    start = iterator.first()
    for end in iterator:
        if iterator.getRuleStatus() >= _FIRST_WORD_STATUS:
            spans.append((start, end))
        start = end
    if spans and len(text) != len(text.encode("utf-16-le", "surrogatepass")) // 2:
        spans = _utf16_to_code_points(text, spans)
    return spans


def _utf16_to_code_points(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Map UTF-16 offsets to code-point offsets (needed only when ``text`` has astral chars)."""
    utf16_to_cp: dict[int, int] = {}
    unit = 0
    for index, char in enumerate(text):
        utf16_to_cp[unit] = index
        unit += 2 if ord(char) > 0xFFFF else 1
    utf16_to_cp[unit] = len(text)
    return [(utf16_to_cp[start], utf16_to_cp[end]) for start, end in spans]


_transliterators: dict[str, icu.Transliterator] = {}
_transliterator_lock = threading.Lock()


def transliterate(text: str, transform_id: str) -> str:
    """Apply the ICU transform ``transform_id`` (e.g. ``"Latin-Bengali"``) to ``text``."""
    with _transliterator_lock:
        transform = _transliterators.get(transform_id)
        if transform is None:
            transform = icu.Transliterator.createInstance(transform_id)
            _transliterators[transform_id] = transform
        return str(transform.transliterate(text))
