"""Index room: a word's posting slices in every field of a segment read by one call
(:meth:`SegmentReader.term_slices`) are those :meth:`located_postings` gives field by field."""

from __future__ import annotations

import numpy as np

from bnsearch.articles import Article
from bnsearch.index import Index

TITLES = ["মামলার রায়", "পুলিশের দাবি", "বাংলাদেশ দল", "দলের অধিনায়ক"]
BODIES = [
    "মামলাটি আদালতে উঠেছে। মামলার রায় কাল",
    "পুলিশ মামলা করেছে, পুলিশের দাবি",
    "গল্পটি পড়ুন। বাংলাদেশের গল্প",
    "বাংলাদেশ দল জিতেছে। দলের অধিনায়ক",
]


def _index() -> Index:
    index = Index.in_memory()
    for half in (0, 2):  # two segments
        with index.writer() as writer:
            for n in range(half, half + 2):
                writer.add(Article(id=f"a{n}", title=TITLES[n], body=BODIES[n]))
    return index


def test_one_call_gives_each_fields_slice() -> None:
    index = _index()
    segments = index.reader().segments
    assert len(segments) == 2
    fields = ("title", "body")
    checked = 0
    for segment in segments:
        words = set(segment.terms("title")) | set(segment.terms("body")) | {"নেই", "", "\uffff"}
        for word in sorted(words):
            expected = []
            for field in fields:
                found = segment.located_postings(field, word)
                if found is not None and len(found[0]):
                    expected.append((field, *found))
            got = segment.term_slices(word, fields)
            assert [(f, s) for f, _, _, s in got] == [(f, s) for f, _, _, s in expected]
            for (_, docs, tfs, _), (_, want_docs, want_tfs, _) in zip(got, expected, strict=True):
                assert np.array_equal(docs, want_docs) and np.array_equal(tfs, want_tfs)
            checked += len(got)
    # words in both fields and in one only were met; an absent word gives nothing
    assert checked > len(segments)
    assert segments[0].term_slices("নেই", fields) == []
    body_word = segments[0].terms("body")[0]
    assert [f for f, *_ in segments[0].term_slices(body_word, ("body",))] == ["body"]
