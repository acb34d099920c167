"""One canonical spelling for Bengali terms, identical at index and query time.

What it does to a word, in order:

1. the legacy khanda ta ``ত + ্ + ZWJ`` becomes ``ৎ`` (U+09CE);
2. invisible characters are dropped: ZWJ, ZWNJ, soft hyphen, BOM, bidi marks and other
   default-ignorable format characters (stored text keeps them; only terms lose them);
3. Latin and other cased scripts are case-folded;
4. NFC, which also repairs split vowel signs (``ে + া`` -> ``ো``, ``ে + ৗ`` -> ``ৌ``);
5. ``অ + া`` -> ``আ``, a typing error NFC does not fix;
6. every Unicode decimal digit becomes ASCII (``১৫`` == ``15``).

Nukta letters ড় ঢ় য় take their NFC form, base letter + U+09BC, whatever the input used:
U+09DC/U+09DD/U+09DF are Unicode composition exclusions, so NFC always decomposes them,
and one form falls out of step 4 at no extra cost. Every suffix and stopword table in
bnsearch is passed through :func:`normalize_word` when it is built, so the tables always
agree with the terms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import attrs

_ZWJ = "\u200d"
_KHANDA_TA_LEGACY = "ত্" + _ZWJ
_KHANDA_TA = "ৎ"
_SPLIT_AA = "অা"

#: Characters removed from terms: joiners, soft hyphen, BOM, bidi controls, other format
#: characters that change nothing a reader sees.
INVISIBLE_CHARACTERS = frozenset(
    "\u200b\u200c\u200d\u200e\u200f\u00ad\ufeff\u061c\u2060\u2061\u2062\u2063\u2064"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u180e\u034f"
)


class _LazyTable(dict[int, "str | None"]):
    """A ``str.translate`` table that decides each character the first time it is seen.

    A full table would scan 130,000 code points at import; instead a character's entry is
    computed once, on first sight, and ``translate`` finds it in C afterwards.
    """

    def __init__(self, *, drop: frozenset[str]) -> None:
        super().__init__()
        self._drop = drop

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        value: str | None = char
        if char in self._drop:
            value = None
        elif code >= 0x80 and unicodedata.category(char) == "Nd":
            value = str(unicodedata.digit(char))
        self[code] = value
        return value


#: Every Unicode decimal digit -> its ASCII digit (other characters map to themselves).
DIGITS_TO_ASCII: dict[int, str | None] = _LazyTable(drop=frozenset())
#: One translation table for steps 2 and 6: one pass over the text does both.
_DROP_INVISIBLE_FOLD_DIGITS: dict[int, str | None] = _LazyTable(drop=INVISIBLE_CHARACTERS)


#: The characters steps 2 and 6 change: the invisible ones, and the decimal digits that
#: are not ASCII (``\d`` is Unicode category Nd in a ``str`` pattern).
_INVISIBLE_OR_FOREIGN_DIGIT = re.compile(
    "[" + re.escape("".join(sorted(INVISIBLE_CHARACTERS))) + r"]|[^\D0-9]"
)


def _fold_match(match: re.Match[str]) -> str:
    """The replacement of one invisible character (``""``) or foreign digit (ASCII)."""
    return _DROP_INVISIBLE_FOLD_DIGITS[ord(match[0])] or ""


def _drop_invisible_fold_digits(text: str) -> str:
    """``text.translate(_DROP_INVISIBLE_FOLD_DIGITS)``, with a regex finding the few
    characters to change (``translate`` looks every character up in a dict; on Bengali
    text that is twice the time)."""
    return _INVISIBLE_OR_FOREIGN_DIGIT.sub(_fold_match, text)


def normalized_set(words: Iterable[str]) -> frozenset[str]:
    """The set of the normalized forms of ``words`` (word lists given by users)."""
    return frozenset(normalize_word(word) for word in words)


def fold_digits(text: str) -> str:
    """Return ``text`` with every Unicode decimal digit replaced by its ASCII digit."""
    return text.translate(DIGITS_TO_ASCII)


def normalize_word(word: str) -> str:
    """Return the canonical form of one word (steps 1-6 of the module docstring).

    Idempotent: ``normalize_word(normalize_word(w)) == normalize_word(w)``.

    >>> normalize_word("র\u200d্যাব") == normalize_word("র্যাব")
    True
    >>> normalize_word("১৫")
    '15'
    """
    if _ZWJ in word:
        word = word.replace(_KHANDA_TA_LEGACY, _KHANDA_TA)
    # digits are untouched by case folding and NFC, so folding them first is the same
    word = unicodedata.normalize("NFC", _drop_invisible_fold_digits(word).casefold())
    if _SPLIT_AA in word:
        word = word.replace(_SPLIT_AA, "আ")
    return word


def normalize_text(text: str) -> str:
    """Canonical form of a whole string, for keys such as headline matching.

    Every word is normalized as a term would be, and runs of whitespace become one space,
    so two headlines that differ only in encoding, invisible characters or spacing get
    the same key.

    One :func:`normalize_word` call over the space-joined words gives the same as one call
    per word: its steps act per character, or on sequences that never hold a space (NFC
    composes nothing with a space, the repairs match letters only), and no step turns a
    character into whitespace.
    """
    return normalize_word(" ".join(text.split()))


@attrs.frozen
class BengaliNormalizer:
    """Filter: the canonical spelling of :func:`normalize_word`."""

    name: str = "bn-normalize-v1"
    stage: str = "normalize"

    def __call__(self, term: str) -> str | None:
        return normalize_word(term) or None

    def batch(self, terms: list[str | None]) -> list[str | None]:
        """Normalize many words with one pass over their newline-joined text (same result)."""
        raw = "\n".join(term or "" for term in terms)
        if raw.count("\n") != len(terms) - 1:  # empty, or a term holds a newline itself
            return [self(term) if term else None for term in terms]
        joined = normalize_word(raw)
        return [term or None for term in joined.split("\n")]


_BENGALI_LETTERS = frozenset(
    chr(code) for code in range(0x0980, 0x0A00) if unicodedata.category(chr(code)) == "Lo"
)


_ASCII_DIGITS = frozenset("0123456789")


@attrs.frozen
class NumberClassifierFilter:
    """Filter: a number followed by a Bengali classifier or case ending is the number.

    ``১৫টি`` and ``৩২৮টি`` are one word to ICU; after digit folding they are ``15টি`` and
    ``328টি``, and this filter keeps ``15`` and ``328``. Latin endings (``3rd``) are kept.
    """

    name: str = "bn-number-classifier-v1"
    stage: str = "normalize"

    def __call__(self, term: str) -> str | None:
        if not term or not term[0].isascii() or not term[0].isdigit():
            return term
        cut = 0
        while cut < len(term) and (
            term[cut].isascii() and (term[cut].isdigit() or term[cut] in ".,")
        ):
            cut += 1
        rest = term[cut:]
        if rest and rest[0] in _BENGALI_LETTERS:
            return term[:cut].rstrip(".,")
        return term

    def batch(self, terms: list[str | None]) -> list[str | None]:
        """``[self(term) if term else None for term in terms]``; only terms that open
        with an ASCII digit are looked at closer."""
        digits = _ASCII_DIGITS
        return [(self(term) if term[0] in digits else term) if term else None for term in terms]


_DELETE_LETTERS = {ord(char): None for char in _BENGALI_LETTERS}


def count_letters(word: str) -> int:
    """Number of Bengali letters (consonants and independent vowels) in ``word``."""
    return len(word) - len(word.translate(_DELETE_LETTERS))
