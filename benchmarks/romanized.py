"""Romanized (Banglish) search on 200 BQA dev questions written in Latin letters.

Run from the repository root (needs ``../shared``)::

    .venv/bin/python benchmarks/romanized.py

The 200 questions are a seeded sample of the dev questions (``random.Random(15)``); each
is written in Latin letters by :func:`banglish`, a fixed rule that spells Bengali the way
people type it in chat and comment boxes (it is written here, apart from the library's
own romanization code, so the library is not graded on its own spelling):

* consonants: ক k, খ kh, গ g, ঘ gh, ঙ ng, চ ch, ছ chh, জ/য j, ঝ jh, ঞ n, ট/ত t, ঠ/থ th,
  ড/দ d, ঢ/ধ dh, ণ/ন n, প p, ফ f, ব b, ভ bh, ম m, র/ড় r, ঢ় rh, ল l, শ/ষ sh, স s, হ h,
  য় y, ৎ t, ং ng, ঃ h; ঁ and the nukta vanish;
* vowels (independent or as signs): অ o, আ a, ই/ঈ i, উ/ঊ u, ঋ ri, এ e, ঐ oi, ও o, ঔ ou;
* a consonant with no vowel sign and no virama after it says the inherent ``o``,
  except at the end of a word; a virama joins consonants with no vowel between them;
  ্য after a consonant is ``y``, ্ব after a consonant ``w``;
* Bengali digits become ASCII digits (a Latin keyboard's); punctuation stays.

Reported: MRR@10 of the romanized questions with ``romanized=True``, next to the same 200
questions in Bengali and the romanized ones without the flag.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from evaluate import (
    TABLE_HEADER,
    Question,
    bqa_files,
    build_index,
    load_passages,
    load_questions,
    score_rankings,
)

from bnsearch.search import Searcher

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SAMPLE = 200
SEED = 15

_CONSONANTS = {
    "ক": "k", "খ": "kh", "গ": "g", "ঘ": "gh", "ঙ": "ng", "চ": "ch", "ছ": "chh", "জ": "j",
    "ঝ": "jh", "ঞ": "n", "ট": "t", "ঠ": "th", "ড": "d", "ঢ": "dh", "ণ": "n", "ত": "t",
    "থ": "th", "দ": "d", "ধ": "dh", "ন": "n", "প": "p", "ফ": "f", "ব": "b", "ভ": "bh",
    "ম": "m", "য": "j", "র": "r", "ল": "l", "শ": "sh", "ষ": "sh", "স": "s", "হ": "h",
    "\u09dc": "r", "\u09dd": "rh", "\u09df": "y",
}  # fmt: skip
_VOWELS = {
    "অ": "o", "আ": "a", "ই": "i", "ঈ": "i", "উ": "u", "ঊ": "u", "ঋ": "ri", "এ": "e",
    "ঐ": "oi", "ও": "o", "ঔ": "ou",
    "া": "a", "ি": "i", "ী": "i", "ু": "u", "ূ": "u", "ৃ": "ri", "ে": "e", "ৈ": "oi",
    "ো": "o", "ৌ": "ou",
}  # fmt: skip
_OTHERS = {"ৎ": "t", "ং": "ng", "ঃ": "h", "ঁ": "", "়": "", "\u200c": "", "\u200d": ""}
_NUKTA = {"ড\u09bc": "\u09dc", "ঢ\u09bc": "\u09dd", "য\u09bc": "\u09df"}
VIRAMA = "\u09cd"


def _is_bengali_letter(char: str) -> bool:
    return char in _CONSONANTS or char in _VOWELS or char in _OTHERS


def banglish(text: str) -> str:
    """``text`` in Latin letters by the rule of the module docstring."""
    for decomposed, letter in _NUKTA.items():
        text = text.replace(decomposed, letter)
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in _CONSONANTS:
            after = text[i + 1 : i + 2]
            if after == VIRAMA:
                joined = text[i + 2 : i + 3]
                if joined == "য":
                    out.append(_CONSONANTS[char] + "y")
                    i += 3
                    out.append(_inherent(text, i))
                    continue
                if joined == "ব":
                    out.append(_CONSONANTS[char] + "w")
                    i += 3
                    out.append(_inherent(text, i))
                    continue
                out.append(_CONSONANTS[char])
                i += 2
                continue
            out.append(_CONSONANTS[char])
            i += 1
            out.append(_inherent(text, i))
            continue
        if char in _VOWELS:
            out.append(_VOWELS[char])
        elif char in _OTHERS:
            out.append(_OTHERS[char])
        elif char == VIRAMA:
            pass
        elif "০" <= char <= "৯":
            out.append(str(ord(char) - ord("০")))
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _inherent(text: str, i: int) -> str:
    """The inherent vowel after a consonant whose next character is ``text[i]``."""
    after = text[i : i + 1]
    if not after or not _is_bengali_letter(after):
        return ""  # word-final: no inherent vowel
    if after in _VOWELS and after not in "অআইঈউঊঋএঐওঔ":
        return ""  # a vowel sign follows
    return "o"


def sample(questions: list[Question], *, size: int = SAMPLE, seed: int = SEED) -> list[Question]:
    """The seeded sample of questions, romanized."""
    chosen = sorted(random.Random(seed).sample(questions, size), key=lambda q: q.qid)
    return [Question(qid=q.qid, text=banglish(q.text), passage_id=q.passage_id) for q in chosen]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--show", type=int, default=0, help="print N romanized questions")
    args = parser.parse_args()
    passages_path, questions_path = bqa_files(args.shared)
    questions = load_questions(questions_path)
    romanized = sample(questions)
    by_id = {q.qid: q for q in questions}
    bengali = [by_id[q.qid] for q in romanized]
    for question in romanized[: args.show]:
        print(f"{by_id[question.qid].text}\n  {question.text}")
    searcher = Searcher(build_index(load_passages(passages_path)).reader())

    def ranker(flag: bool):  # type: ignore[no-untyped-def]
        def rank(text: str) -> list[str]:
            return searcher.search(text, romanized=flag, highlight=False, stored=False).ids

        return rank

    print(f"# {time.strftime('%Y-%m-%d %H:%M')} UTC; {len(romanized)} questions")
    print(TABLE_HEADER)
    print(score_rankings("Bengali, as asked", bengali, ranker(False)).row())
    print(score_rankings("romanized, romanized=True", romanized, ranker(True)).row())
    print(score_rankings("romanized, romanized=False", romanized, ranker(False)).row())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
