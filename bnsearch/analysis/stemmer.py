"""A light Bengali stemmer for noun and verb inflection.

Bengali stacks its endings in a fixed order: stem + plural or classifier + case +
emphatic clitic (ছাত্র-দের-কে-ও, বই-গুলো-র, ছেলে-টি-র). The stemmer peels them from the
right in that order. Each ending belongs to a *layer*; after an ending of one layer is
cut, only endings of deeper layers may follow, and each cut keeps at least
``min_letters`` Bengali letters (consonants and independent vowels; vowel signs,
virama and nukta do not count). When the longest ending would break the guard, shorter
ones are tried.

Layers, outermost first:

* ``emphatic``: ই, ও (দেশেও, আজই);
* ``case`` and ``verb``: genitive ের/র/য়ের/এর, objective কে, locative তে/ে/য়, and a
  few long, unambiguous verb endings (েছেন, ছিলেন, চ্ছে, লেন, বেন, ...);
* ``number``: plural and classifier গুলো, গুলি, রা, দের, টি, টা, খানা, গণ, সমূহ, ...;
* ``final``: a stem-final ে left behind by a plural (মেয়েরা -> মেয়ে -> মেয়), so that
  every form of a word meets in one term.

Five irregular verbs (পা, নে, দে, যা, আস) change their root's vowel or take another root
(পেয়েছে, দিল, গেল, এল); a small table gives each of their forms the root as its term.

What it never does, unlike Lucene's Bengali stemmer: cut bare consonants (ত, ব), noun-like
endings (তা, লা, লে, িস) or a single vowel sign other than ে. That keeps পুলিশ, নেতা, জন্য,
বাংলা, কলকাতা whole. The stem is a match key, not a dictionary lemma: ছেলে and ছেলের both
become ছেল, which is what search needs. Accuracy on our gold table is in docs/stemmer.md.
"""

from __future__ import annotations

import re

import attrs

from bnsearch.analysis.normalize import count_letters, normalize_word, normalized_set

#: Vowel signs after which a bare genitive ``র`` or locative ``য়`` is an ending.
_VOWEL_SIGNS = frozenset("ািীুূৃেৈোৌ")

_EMPHATIC, _CASE, _NUMBER, _FINAL = 0, 1, 2, 3

# (ending, layer, needs a vowel (sign or letter) right before it)
_ENDINGS: tuple[tuple[str, int, bool], ...] = (
    ("ই", _EMPHATIC, False),
    ("ও", _EMPHATIC, False),
    # case
    ("ের", _CASE, False),
    ("এর", _CASE, False),
    ("য়ের", _CASE, True),
    ("র", _CASE, True),
    ("কে", _CASE, False),
    ("তে", _CASE, False),
    ("য়ে", _CASE, True),
    ("য়", _CASE, True),
    ("ে", _CASE, False),
    # verbs (long endings only; they share the case layer: a verb takes no case)
    ("েছিলেন", _CASE, False),
    ("েছিলাম", _CASE, False),
    ("েছিল", _CASE, False),
    ("েছেন", _CASE, False),
    ("েছিস", _CASE, False),
    ("েছে", _CASE, False),
    ("েছি", _CASE, False),
    ("ছিলেন", _CASE, False),
    ("ছিলাম", _CASE, False),
    ("ছিল", _CASE, False),
    ("ছেন", _CASE, False),
    ("ছে", _CASE, False),
    ("ছি", _CASE, False),
    ("চ্ছিলেন", _CASE, False),
    ("চ্ছিল", _CASE, False),
    ("চ্ছেন", _CASE, False),
    ("চ্ছে", _CASE, False),
    ("চ্ছি", _CASE, False),
    ("লেন", _CASE, False),
    ("বেন", _CASE, False),
    ("তেন", _CASE, False),
    ("তাম", _CASE, False),
    ("েননি", _CASE, False),
    ("েনি", _CASE, False),
    # plural and classifiers
    ("গুলো", _NUMBER, False),
    ("গুলি", _NUMBER, False),
    ("গুলা", _NUMBER, False),
    ("দের", _NUMBER, False),
    ("রা", _NUMBER, False),
    ("টি", _NUMBER, False),
    ("টা", _NUMBER, False),
    ("টো", _NUMBER, False),
    ("খানা", _NUMBER, False),
    ("খানি", _NUMBER, False),
    ("গণ", _NUMBER, False),
    ("বৃন্দ", _NUMBER, False),
    ("সমূহ", _NUMBER, False),
    # a stem-final e-kar, genitive or locative left under a plural or another case
    # (মেয়েরা -> মেয়ে -> মেয়, সরকারের -> সরকার -> সরকা, matching সরকার -> সরকা)
    ("ে", _FINAL, False),
    ("র", _FINAL, True),
    ("য়", _FINAL, True),
)

#: Nouns ending in the consonant an ending starts with (ক, ত, দ): for them কে, তে, দের are
#: only ে or ের (বৈঠকে is in the meeting, বাংলাদেশকে is to Bangladesh; ভারতে is in India,
#: করতে is to do; পরিষদের is the council's, ছাত্রদের is the students'). Words whose stem
#: before that consonant has a single letter need no entry: the length guard keeps it.
_CONSONANT_FINAL_NOUNS_TEXT = """
পরিষদ সংসদ মসজিদ বিপদ সম্পদ আপদ জনপদ সংবাদ প্রতিবাদ বিবাদ অনুবাদ ঈদ শহীদ শহিদ
মুহাম্মদ আহমদ মাহমুদ আসাদ সাঈদ রশিদ জাহিদ মাসুদ ফরহাদ মুরাদ আবেদ জিহাদ ইরশাদ
ভারত আয়াত নিয়ত মত শত ক্ষত আঘাত বসত হজরত আদালত ইবাদত রহমত বরকত শরিয়ত সুন্নত
জামায়াত দাওয়াত হেফাজত কিয়ামত উম্মত খিলাফত তাবলিগ জিয়ারত মারফত ইজ্জত সম্মত
আমানত হিকমত নিয়ামত সালাত জাকাত হায়াত
বৈঠক সড়ক দুদক ব্যাংক শিক্ষক লেখক পাঠক গবেষক চালক দর্শক নায়ক সমর্থক পরিচালক
মালিক নাগরিক সৈনিক সাংবাদিক শ্রমিক কৃষক যুবক বালক পোশাক ট্রাক ব্লক নাটক
চিকিৎসক অভিভাবক পর্যবেক্ষক পরীক্ষক সম্পাদক প্রকাশক আহ্বায়ক সংগঠক দশক শতক
মোড়ক ঘাতক বাহক গ্রাহক নরক ফটক মড়ক প্রতীক আটক সমাবেশক উপদেশক প্রচারক
প্রতিবেদক ব্যবস্থাপক অধ্যাপক প্রভাষক অনেক লিংক ট্যাংক
"""

#: Words whose ending only looks like an inflection: a vowel + র or য় that is part of the
#: word (হাজির is present, not হাজি's; মঙ্গলবার is Tuesday), or loanwords in -টি that are
#: not a noun + classifier (কমিটি). Once peeling reaches one of them, it stops. Frequent
#: news words only: for the rest, the cut is the same in every form, so they still conflate.
_WHOLE_WORDS_TEXT = """
কমিটি সিটি সোসাইটি ইউনিভার্সিটি অথরিটি সিকিউরিটি কমিউনিটি মেজরিটি প্রায়োরিটি
কোয়ালিটি ক্যাপাসিটি ডিউটি বিউটি ইউটিলিটি আনোয়ার সরোয়ার মোক্তার আনসার জব্বার
হাজির মঞ্জুর আমির ভাঙচুর দূর হাজার সরকার বাজার পরিবার অধিকার ব্যবহার প্রচার বিচার
আবার দরকার প্রকার আকার গ্রেপ্তার গ্রেফতার শিকার সংস্কার পুরস্কার উপহার সমাচার
শনিবার রবিবার সোমবার মঙ্গলবার বুধবার বৃহস্পতিবার শুক্রবার কক্সবাজার বার
প্রায় উপায় অধ্যায় পর্যায় সহায় বিদায় অন্যায় ন্যায় দায় সময়
"""


#: Irregular verbs: forms whose root changes its vowel (পা -> পে-, দে -> দি-) or is
#: another word altogether (যা -> গে-, আস -> এ-), which no ending rule can bring together.
#: Each line is the root (the term every form gets) and its forms. Forms that are also
#: frequent other words are left out: পান (betel), পাস (pass), যান (vehicle), দিন (day),
#: দেব (a name), and the forms that are stopwords anyway (নিয়ে, দিয়ে, গেছে). পাওয়ার as
#: "power" stays apart. The verbal nouns (পাওয়া, দেওয়া, নেওয়া, যাওয়া, আসা) are left out too:
#: in passive phrases (লাশ পাওয়া যায়, পরীক্ষা নেওয়া হয়েছে) they act as nouns, and merged
#: with every finite form they cost 0.001 MRR@10 on the BQA dev questions.
_IRREGULAR_VERBS_TEXT = """
পা পায় পাই পাও পেয়ে পেয়েছি পেয়েছ পেয়েছে পেয়েছেন পেয়েছিল পেয়েছিলেন পেয়েছিলাম পেল পেলো
   পেলেন পেলাম পেত পেতো পেতেন পেতাম পেতে পাবে পাবেন পাব পাবো পাচ্ছে পাচ্ছেন পাচ্ছি পাচ্ছিল
   পায়নি পাননি পেলে
নে নেয় নেন নিই নাও নিল নিলো নিলেন নিলাম নিয়েছি নিয়েছে নিয়েছেন নিয়েছিল নিয়েছিলেন নেবে নেবেন
   নেব নেবো নিত নিতো নিতেন নিতে নিচ্ছে নিচ্ছেন নিচ্ছি নিচ্ছিল নেয়নি নেননি নিলে
দে দেয় দেন দিই দাও দিল দিলো দিলেন দিলাম দিয়েছি দিয়েছে দিয়েছেন দিয়েছিল দিয়েছিলেন দেবে দেবেন
   দেবো দিত দিতো দিতেন দিতে দিচ্ছে দিচ্ছেন দিচ্ছি দিচ্ছিল দেয়নি দেননি দিলে
যা যায় যাই যাও গেল গেলো গেলেন গেলাম গিয়েছে গিয়েছেন গিয়েছিল গিয়েছিলেন গেছেন গেছিল যাবে
   যাবেন যাব যাবো যেত যেতো যেতেন যেতে যাচ্ছে যাচ্ছেন যাচ্ছি যাচ্ছিল যায়নি যাননি গেলে
আস আসে আসেন আসি এল এলো এলেন এলাম এসে এসেছি এসেছে এসেছেন এসেছিল এসেছিলেন আসবে আসবেন আসব
   আসবো আসত আসতো আসতেন আসতে আসছে আসছেন আসছি আসছিল আসেনি আসেননি এলে
"""


def _build_irregular() -> dict[str, str]:
    table: dict[str, str] = {}
    for entry in re.split(r"\n(?=\S)", _IRREGULAR_VERBS_TEXT.strip()):
        root, *forms = (normalize_word(word) for word in entry.split())
        table[root] = root
        for form in forms:
            table[form] = root
    return table


def _build_table() -> tuple[tuple[str, int, bool], ...]:
    table = {(normalize_word(ending), layer, vowel) for ending, layer, vowel in _ENDINGS}
    # longest first, so one scan finds the longest ending that fits
    return tuple(sorted(table, key=lambda entry: (-len(entry[0]), entry[1])))


_TABLE = _build_table()
#: The endings grouped by their last character, longest first.
_BY_LAST_CHAR: dict[str, tuple[tuple[str, int, bool], ...]] = {}
for _entry in _TABLE:
    _BY_LAST_CHAR[_entry[0][-1]] = (*_BY_LAST_CHAR.get(_entry[0][-1], ()), _entry)
_MAX_TAILS = 10_000


class _EndingsByTail(dict[str, tuple[tuple[str, int, bool], ...]]):
    """A word's last two characters -> the endings that can match its tail, longest first.

    Filled on first sight of a tail: an ending of one character matches when the tail
    ends with it, a longer one when it ends with the tail. Most words meet one or two
    candidates instead of every ending that shares their last character.
    """

    def __missing__(self, tail: str) -> tuple[tuple[str, int, bool], ...]:
        found = tuple(
            entry
            for entry in _BY_LAST_CHAR.get(tail[-1], ())  # the others cannot match
            if (tail.endswith(entry[0]) if len(entry[0]) <= len(tail) else entry[0].endswith(tail))
        )
        if len(self) < _MAX_TAILS:  # bounded, whatever the input
            self[tail] = found
        return found


_BY_TAIL = _EndingsByTail()
_CONSONANT_FINAL_NOUNS = frozenset(
    normalize_word(word) for word in _CONSONANT_FINAL_NOUNS_TEXT.split()
)
_WHOLE_WORDS = frozenset(normalize_word(word) for word in _WHOLE_WORDS_TEXT.split())
_IRREGULAR = _build_irregular()
_OBJECTIVE = normalize_word("কে")
_INFINITIVE = normalize_word("তে")
_LOCATIVE_YA = normalize_word("য়")
_AA_O = frozenset("াো")
_CONSONANTS = frozenset(chr(code) for code in range(0x0995, 0x09BA))
_VOWELS = _VOWEL_SIGNS | frozenset("অআইঈউঊঋএঐওঔ")
_VIRAMA = "\u09cd"
_ANUSVARA = "\u0982"


def _cut_allowed(word: str, ending: str, stem: str, needs_vowel: bool, min_letters: int) -> bool:
    if not stem or (needs_vowel and stem[-1] not in _VOWELS):
        return False
    if stem[-1] == _VIRAMA:  # never leave a dangling virama (অবসরপ্রাপ্ত)
        return False
    if ending == _LOCATIVE_YA and stem[-1] not in _AA_O:
        return False  # locative য় follows আ/ও (ঢাকায়); after ী it is the adjective -ীয়
    if ending[0] in _CONSONANTS and stem + ending[0] in _CONSONANT_FINAL_NOUNS:
        return False  # বৈঠকে, ভারতে, পরিষদের: the ক/ত/দ belongs to the noun
    letters = count_letters(stem)
    if ending in (_OBJECTIVE, _INFINITIVE):
        if stem[-1] == _ANUSVARA:
            return False  # ব্যাংকে: the ক belongs to the noun
        if ending == _INFINITIVE and stem[-1] not in _VOWELS and letters > 2:
            return False  # after a consonant, তে is an infinitive only on short verb roots
    return letters >= min_letters


def stem_word(word: str, *, min_letters: int = 2) -> str:
    """Return the stem of one normalized Bengali word.

    >>> stem_word("বাংলাদেশের"), stem_word("বৈঠকে"), stem_word("পুলিশ")
    ('বাংলাদেশ', 'বৈঠক', 'পুলিশ')
    """
    layer_done = -1
    while word and word not in _WHOLE_WORDS:
        root = _IRREGULAR.get(word)
        if root is not None and layer_done < _CASE:  # a verb form (after a clitic ই/ও)
            return root
        for ending, layer, needs_vowel in _BY_TAIL[word[-2:]]:
            if layer <= layer_done or not word.endswith(ending):
                continue
            stem = word[: -len(ending)]
            if not _cut_allowed(word, ending, stem, needs_vowel, min_letters):
                continue
            word, layer_done = stem, layer
            break
        else:
            return word
    return word


@attrs.frozen
class BengaliStemmer:
    """Filter: :func:`stem_word` on Bengali terms; other scripts pass through.

    ``protected`` words (normalized on the way in) are never stemmed: proper names or
    terms a deployment wants kept whole.
    """

    min_letters: int = attrs.field(default=2, validator=attrs.validators.ge(1))
    protected: frozenset[str] = attrs.field(
        default=frozenset(),
        converter=normalized_set,
    )
    stage: str = "stem"

    @property
    def name(self) -> str:
        suffix = f",protected={len(self.protected)}" if self.protected else ""
        return f"stem-bn-light-v2(min_letters={self.min_letters}{suffix})"

    def __call__(self, term: str) -> str | None:
        if not term or not ("\u0980" <= term[0] <= "\u09ff") or term in self.protected:
            return term
        return stem_word(term, min_letters=self.min_letters)

    def batch(self, terms: list[str | None]) -> list[str | None]:
        """``[self(term) if term else None for term in terms]``, with the per-call lookups
        hoisted out of the loop (the index stems every distinct form of a segment)."""
        protected = self.protected
        min_letters = self.min_letters
        return [
            None
            if not term
            else stem_word(term, min_letters=min_letters)
            if "\u0980" <= term[0] <= "\u09ff" and term not in protected
            else term
            for term in terms
        ]
