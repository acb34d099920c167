"""A short Bengali stopword list, normalized with the same chain as the terms.

Short on purpose: BM25's idf already discounts frequent words, so the list only holds
function words that carry no topic (conjunctions, pronouns, postpositions, auxiliaries,
question words). It is written by us; entries go through
:func:`~bnsearch.analysis.normalize.normalize_word` when loaded, so none of them can be
dead because of a spelling encoding (a flaw of Lucene's list).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import attrs

from bnsearch.analysis.normalize import normalize_word, normalized_set

_BENGALI_STOPWORDS_TEXT = """
এবং ও আর বা অথবা কিন্তু তবে যদি তাহলে নাকি যেন
এ এই ওই সেই যে যা যার যাদের তা সে তিনি তাঁর তার তাদের তারা তাঁরা তাঁদের
আমি আমরা আমার আমাদের তুমি তোমার আপনি আপনার এর এটি এটা সেটি সেটা ওটা
না নয় নি কি কী কে কার কাকে কারা কাদের কিসের কিসে কোথায় কবে কখন কেন কত কোন কোনো
কীভাবে কিভাবে
কেমন কোনটি কয়টি কতজন কয়জন
হয় হয়েছে হয়ে হবে হতে হলে হলো হল ছিল ছিলেন আছে আছেন
থেকে করে করা করেন জন্য নিয়ে দিয়ে সঙ্গে সাথে মধ্যে পর পরে প্রতি ওপর উপর কাছে মতো দ্বারা
একটি বলেন বলে গেছে এমন তো ই
"""

BENGALI_STOPWORDS: frozenset[str] = frozenset(
    normalize_word(word) for word in _BENGALI_STOPWORDS_TEXT.split()
)


@attrs.frozen
class StopFilter:
    """Filter: drop stopwords (their position stays, so phrases still line up)."""

    words: frozenset[str] = attrs.field(
        default=BENGALI_STOPWORDS,
        converter=normalized_set,
    )
    name: str = "stop-bn-v1"
    stage: str = "stop"

    @classmethod
    def of(cls, words: Iterable[str]) -> StopFilter:
        """A stop filter over a custom word list (normalized on the way in).

        Its name carries a digest of the list, so an index records which list it used.
        """
        normalized = sorted({normalize_word(w) for w in words})
        digest = hashlib.sha1("\n".join(normalized).encode("utf-8")).hexdigest()[:10]
        return cls(words=frozenset(normalized), name=f"stop-custom-{len(normalized)}-{digest}")

    def __call__(self, term: str) -> str | None:
        return None if term in self.words else term

    def batch(self, terms: list[str | None]) -> list[str | None]:
        """``[self(term) if term else None for term in terms]`` in one comprehension."""
        words = self.words
        return [term if term and term not in words else None for term in terms]
