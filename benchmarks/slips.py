"""Misspelled questions made from real ones: one Bengali spelling slip per question.

:func:`slip_questions` takes the BQA dev questions and, in each, swaps one letter of one
content word for a letter of its confusion group (ি/ী, ু/ূ, শ/স/ষ, ন/ণ, জ/য, র/ড়, ং/ঙ:
:data:`bnsearch.search.spelling.CONFUSIONS`). Which slip is drawn depends only on the
seed and the question's id (``random.Random(f"{seed}:{qid}")``), so the set is the same on
every run and machine. A question gets a slip when it has a content word (not a
stopword, Bengali letters) whose term the index holds and a confusable letter in it: the
kind of slip is drawn first among the kinds the question offers, then the place. ``র``
next to a virama (a conjunct: র্ক, ক্র) is not swapped for ড়, which never joins one.

Used by ``benchmarks/spelling.py`` (the figures in docs/relevance.md) and by
``tests/test_search_spelling.py`` (the rates as floors).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Sequence

import attrs

from bnsearch.analysis import Analyzer
from bnsearch.search.spelling import CONFUSIONS

VIRAMA = "\u09cd"
SEED = 15


@attrs.frozen(kw_only=True)
class Slip:
    """One question with one slipped word."""

    qid: str
    passage_id: str
    original: str  # the question as asked
    text: str  # the question with the slip
    word_index: int  # which whitespace-separated chunk holds the slip
    word: str  # that chunk as asked
    slipped: str  # that chunk with the slip
    kind: str  # the confusion group, e.g. "ি/ী"


def _places(word: str) -> dict[str, list[tuple[int, int, str]]]:
    """Per confusion group: ``(start, end, replacement)`` of every slip ``word`` allows."""
    found: dict[str, list[tuple[int, int, str]]] = {}
    for group in CONFUSIONS:
        kind = "/".join(group)
        for member in group:
            start = word.find(member)
            while start >= 0:
                end = start + len(member)
                nukta_follows = len(member) == 1 and word[end : end + 1] == "\u09bc"
                in_conjunct = member == "র" and (
                    word[end : end + 1] == VIRAMA or word[max(start - 1, 0) : start] == VIRAMA
                )
                if not nukta_follows and not in_conjunct:
                    for other in group:
                        if other != member:
                            found.setdefault(kind, []).append((start, end, other))
                start = word.find(member, start + 1)
    return found


def slip_questions(
    questions: Sequence[tuple[str, str, str]],
    analyzer: Analyzer,
    indexed: Callable[[str], bool],
    *,
    seed: int = SEED,
) -> list[Slip]:
    """One slip per question that allows one (see the module docstring).

    ``questions`` are ``(qid, text, passage_id)``; ``indexed(term)`` says whether the
    index holds a term.
    """
    slips: list[Slip] = []
    for qid, text, passage_id in questions:
        chunks = text.split()
        options: dict[str, list[tuple[int, int, int, str]]] = {}
        for index, chunk in enumerate(chunks):
            chunk = unicodedata.normalize("NFC", chunk)
            for start, end in analyzer.tokenizer.spans(chunk):
                word = chunk[start:end]
                term = analyzer.term(word)
                if term is None or not indexed(term):
                    continue
                for kind, places in _places(word).items():
                    for a, b, other in places:
                        options.setdefault(kind, []).append((index, start + a, start + b, other))
        if not options:
            continue
        rng = random.Random(f"{seed}:{qid}")
        kind = rng.choice(sorted(options))
        index, a, b, other = rng.choice(options[kind])
        chunk = unicodedata.normalize("NFC", chunks[index])
        slipped = chunk[:a] + other + chunk[b:]
        new_chunks = [*chunks[:index], slipped, *chunks[index + 1 :]]
        slips.append(
            Slip(
                qid=qid,
                passage_id=passage_id,
                original=text,
                text=" ".join(new_chunks),
                word_index=index,
                word=chunks[index],
                slipped=slipped,
                kind=kind,
            )
        )
    return slips
