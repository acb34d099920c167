"""Romanized (Banglish) query words -> Bengali terms of the index.

A word typed in Latin letters (``pakistan``, ``sofor``) is looked up two ways:

1. ICU's ``Latin-Bengali`` transform spells it in Bengali script; if the normalized result
   is a term of the dictionary, it is the best candidate;
2. a coarse *phonetic key* (consonant skeleton) is computed for the Latin word and for
   every Bengali term of the dictionary; terms with the same key are candidates, ranked by
   how close their vowels are and by document frequency.

The key keeps consonants only, folds aspirates (খ/kh -> k), the three sibilants (শ ষ স,
s/sh -> s), dental and retroflex stops (ত ট -> t, দ ড -> d), ণ ন ং ঙ ঞ (n, ng) -> n,
ব ভ v w -> b, ফ ph f -> f, য জ ঝ z j -> j; drops vowels (a leading vowel becomes ``a``),
য়, visarga, chandrabindu and doubled letters; ক্ষ/ksh -> k, জ্ঞ/jn -> g, ৃ/ri -> r, and the
ya- and ba-phala (্য, ্ব) are dropped, as Banglish writes them as a vowel or w (ম্যান
myan). ``pakistan`` and পাকিস্তান both become ``pkstn``; ``sofor`` and সফর both ``sfr``.
A word is also looked up without a Banglish ending (:data:`BANGLISH_ENDINGS`: ``rojar``
is রোজা + r, ``korechhen`` কর + echhen), since the dictionary holds stems.

Romanized lookup is off by default; ``search(..., romanized=True)`` switches it on.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable

from bnsearch.analysis.icu_bridge import transliterate
from bnsearch.search.fuzzy import TermDictionary, edit_distance

_BENGALI_CLUSTERS = (
    ("ক্ষ", "k"),
    ("জ্ঞ", "g"),
    ("\u09cdয", ""),  # ya-phala and ba-phala: typed as a vowel or w (ম্যান myan, বিশ্ব bishw)
    ("\u09cdব", ""),
    ("ড\u09bc", "r"),
    ("ঢ\u09bc", "r"),
    ("য\u09bc", "."),
    ("ড়", "r"),
    ("ঢ়", "r"),
    ("য়", "."),
)

_BENGALI_KEY = str.maketrans(
    {
        **dict.fromkeys("কখ", "k"),
        **dict.fromkeys("গঘ", "g"),
        **dict.fromkeys("চছ", "c"),
        **dict.fromkeys("জঝয", "j"),
        **dict.fromkeys("টঠতথৎ", "t"),
        **dict.fromkeys("ডঢদধ", "d"),
        **dict.fromkeys("ণনঙঞং", "n"),
        "প": "p",
        "ফ": "f",
        **dict.fromkeys("বভ", "b"),
        "ম": "m",
        **dict.fromkeys("রঋৠ", "r"),
        "ল": "l",
        **dict.fromkeys("শষস", "s"),
        "হ": "h",
        # vowels, vowel signs, virama, nukta, visarga, chandrabindu: dropped
        **dict.fromkeys("অআইঈউঊএঐওঔ", "."),
        **dict.fromkeys("\u09be\u09bf\u09c0\u09c1\u09c2\u09c4\u09c7\u09c8\u09cb\u09cc", "."),
        "\u09c3": "r",  # ৃ: typed ri (সৃষ্টি srishti)
        **dict.fromkeys("\u09cd\u09bc\u0983\u0981\u09d7\u200c\u200d", ""),
    }
)

_LATIN_DIGRAPHS = re.compile(r"ksh|chh|ph|kh|gh|ch|jh|th|dh|bh|sh|ng|rh|jn")
_LATIN_DIGRAPH_KEY = {
    "ksh": "k",
    "jn": "g",
    "chh": "c",
    "ph": "f",
    "kh": "k",
    "gh": "g",
    "ch": "c",
    "jh": "j",
    "th": "t",
    "dh": "d",
    "bh": "b",
    "sh": "s",
    "ng": "n",
    "rh": "r",
}
_LATIN_KEY = str.maketrans(
    {
        "q": "k",
        "x": "ks",
        "z": "j",
        "v": "b",
        "w": ".",
        **dict.fromkeys("aeiou", "."),
    }
)
_BENGALI_LETTER = re.compile(r"[\u0980-\u09ff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def _squeeze(key: str) -> str:
    """Vowel markers -> a leading ``a`` only; doubled consonants collapse."""
    out: list[str] = []
    for index, char in enumerate(key):
        if char == ".":
            if index == 0:
                out.append("a")
            continue
        if out and out[-1] == char:
            continue
        out.append(char)
    return "".join(out)


def bengali_key(term: str) -> str:
    """Phonetic key of a Bengali term (see the module docstring)."""
    for cluster, key in _BENGALI_CLUSTERS:
        if cluster in term:
            term = term.replace(cluster, key)
    return _squeeze(term.translate(_BENGALI_KEY))


def latin_key(word: str) -> str:
    """Phonetic key of a romanized word (see the module docstring)."""
    word = unicodedata.normalize("NFKD", word.casefold())
    word = "".join(c for c in word if "a" <= c <= "z")
    word = _LATIN_DIGRAPHS.sub(lambda m: _LATIN_DIGRAPH_KEY[m.group(0)], word)
    if word.startswith("y"):
        word = "j" + word[1:]
    word = word.replace("y", ".")
    return _squeeze(word.translate(_LATIN_KEY))


def is_romanized(word: str) -> bool:
    """True for a word of Latin letters only (the candidates for romanized lookup)."""
    return bool(_LATIN_WORD.fullmatch(word))


#: Case endings and the like as Banglish typists spell them (রোজার = রোজা + r): a romanized
#: word is also looked up without them, since the dictionary holds stems.
BANGLISH_ENDINGS = (
    "r", "er", "e", "y", "ye", "te", "ke", "re", "ra", "der", "ti", "ta", "tir", "tike",
    "gulo", "guli", "i", "o",
    # verbs
    "chhe", "chhen", "chhi", "chhil", "chhilen", "echhe", "echhen", "echhi", "echhil",
    "echhilen", "iyechhe", "iyechhen", "ben", "be", "len", "lo", "ten", "to", "ite",
)  # fmt: skip


def _splits(word: str) -> list[tuple[str, str]]:
    """``(stem, ending)`` readings of a romanized word: the whole word, then without each
    ending it has (``rojar``: ``("rojar", "")``, ``("roja", "r")``)."""
    out = [(word, "")]
    out.extend(
        (word[: -len(ending)], ending)
        for ending in BANGLISH_ENDINGS
        if len(word) > len(ending) + 1 and word.endswith(ending)
    )
    return out


def has_latin_word(text: str) -> bool:
    """True when ``text`` holds a word of Latin letters."""
    return _LATIN_WORD.search(text) is not None


def _vowel_shape(latin: str) -> str:
    """A rough spelling for tie-breaks: o/a and ee/i style variants folded."""
    latin = latin.casefold()
    for old, new in (("ee", "i"), ("oo", "u"), ("aa", "a"), ("o", "a"), ("w", "")):
        latin = latin.replace(old, new)
    return latin


class RomanIndex:
    """Phonetic keys of a dictionary's Bengali terms, built once (on first use)."""

    def __init__(self, dictionary: TermDictionary) -> None:
        self.dictionary = dictionary
        self._by_key: dict[str, list[int]] | None = None
        self._lock = threading.Lock()

    def _keys(self) -> dict[str, list[int]]:
        with self._lock:
            if self._by_key is None:
                by_key: dict[str, list[int]] = {}
                for term_id, term in enumerate(self.dictionary.terms):
                    if _BENGALI_LETTER.search(term):
                        by_key.setdefault(bengali_key(term), []).append(term_id)
                self._by_key = by_key
            return self._by_key

    def candidates(
        self,
        word: str,
        *,
        normalize: Callable[[str], str | None] | None = None,
        limit: int = 3,
    ) -> list[str]:
        """Bengali terms of the dictionary a romanized ``word`` may stand for, best first.

        ``normalize``, when given, is a callable turning ICU's Bengali spelling into an
        index term (the field analyzer's ``term``).
        """
        if not is_romanized(word):
            return []
        found: list[str] = []
        spelled = transliterate(word.casefold(), "Latin-Bengali")
        if normalize is not None:
            direct = normalize(spelled)
            if direct is not None and direct in self.dictionary:
                found.append(direct)
        shape = _vowel_shape(word)
        keys = self._keys()
        costs: dict[int, int] = {}
        for stem, ending in _splits(word.casefold()):
            key = latin_key(stem)
            if len(key) < 2:
                continue
            for term_id in keys.get(key, ()):
                rough = _rough_latin(self.dictionary.terms[term_id]) + ending
                cost = edit_distance(shape, _vowel_shape(rough))
                costs[term_id] = min(cost, costs.get(term_id, cost))
        ranked = sorted(costs, key=lambda i: (costs[i], -int(self.dictionary.doc_freqs[i])))
        for term_id in ranked:
            term = self.dictionary.terms[term_id]
            if term not in found:
                found.append(term)
            if len(found) >= limit:
                break
        return found[:limit]


_ROUGH = str.maketrans(
    {
        "ক": "k",
        "খ": "kh",
        "গ": "g",
        "ঘ": "gh",
        **dict.fromkeys("ঙঞণনং", "n"),
        "চ": "c",
        "ছ": "ch",
        **dict.fromkeys("জযঝ", "j"),
        **dict.fromkeys("টত", "t"),
        **dict.fromkeys("ঠথ", "th"),
        **dict.fromkeys("ডদ", "d"),
        **dict.fromkeys("ঢধ", "dh"),
        "প": "p",
        "ফ": "f",
        "ব": "b",
        "ভ": "bh",
        "ম": "m",
        "র": "r",
        "ল": "l",
        **dict.fromkeys("শষ", "sh"),
        "স": "s",
        "হ": "h",
        "ৎ": "t",
        "অ": "o",
        "আ": "a",
        "া": "a",
        **dict.fromkeys("ইঈিী", "i"),
        **dict.fromkeys("উঊুূ", "u"),
        **dict.fromkeys("এে", "e"),
        **dict.fromkeys("ওো", "o"),
        "ঐ": "oi",
        "ৈ": "oi",
        "ঔ": "ou",
        "ৌ": "ou",
        "ঋ": "ri",
        "ৃ": "ri",
        **dict.fromkeys("\u09cd\u09bc\u0983\u0981\u200c\u200d", ""),
    }
)


_INHERENT = re.compile("([\u0995-\u09b9\u09dc-\u09df])(?![\u09bc\u09be-\u09cd\u09d7]|$)")


def _rough_latin(term: str) -> str:
    """A cheap Banglish spelling of a Bengali term (for ranking candidates only).

    A consonant with no vowel sign or virama after it (and not word-final) gets the
    inherent vowel, written ``o`` as Banglish typists do (সফর -> ``sofor``).
    """
    return _INHERENT.sub("\\1অ", term).translate(_ROUGH)


def romanized_hint(
    query: str, roman: RomanIndex, *, normalize: Callable[[str], str | None] | None = None
) -> str | None:
    """The note for a search that found nothing while its query has Latin words and
    romanized lookup was off: how to switch it on, and the Bengali words it would try
    (``dhaka`` -> ``ঢাকা``, for the first three Latin words). None when the query has no
    Latin word."""
    latin = list(dict.fromkeys(_LATIN_WORD.findall(query)))[:3]
    if not latin:
        return None
    readings = []
    for word in latin:
        found = roman.candidates(word, normalize=normalize, limit=1)
        if found:
            readings.append(f"{word} -> {found[0]}")
    hint = (
        "no matches; Latin words are searched as typed: romanized=True "
        "(bnsearch search --romanized) reads them as romanized Bengali"
    )
    return hint + (f" ({', '.join(readings)})" if readings else "")
