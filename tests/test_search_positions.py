"""Fields without positions: phrases skip them instead of failing a user's search."""

from __future__ import annotations

from bnsearch import Article, FieldSpec, Index, Schema


def test_phrase_words_never_fail_on_a_field_without_positions() -> None:
    schema = Schema(
        fields=(
            FieldSpec(name="body", source="body"),
            FieldSpec(name="body_exact", source="body", analyzer="bengali-nostem", positions=False),
        )
    )
    index = Index.in_memory(schema=schema)
    with index.writer() as writer:
        writer.add(Article(id="a", title="", body="ঢাকা-চট্টগ্রাম মহাসড়কে যানজট"))
        writer.add(Article(id="b", title="", body="চট্টগ্রাম থেকে ঢাকা"))
    searcher = index.searcher()
    results = searcher.search("ঢাকা-চট্টগ্রাম")  # one word for the user, a phrase to the index
    assert results.ids[0] == "a"
    assert any("positions" in note for note in results.notes)
    assert searcher.search('"ঢাকা চট্টগ্রাম"').ids == ["a"]
    assert set(searcher.search("ঢাকা", fields=["body_exact"]).ids) == {"a", "b"}


def test_every_new_phrase_says_which_field_it_skips() -> None:
    """A phrase's fields (with postings, their analyzers and whether they keep positions)
    are looked up once per weights and field; each new phrase still reads them and adds
    the note, on the field named or on all, and a field without postings says so."""
    schema = Schema(
        fields=(
            FieldSpec(name="body", source="body"),
            FieldSpec(name="body_exact", source="body", analyzer="bengali-nostem", positions=False),
            FieldSpec(name="title", source="title"),
        )
    )
    index = Index.in_memory(schema=schema)
    with index.writer() as writer:
        writer.add(Article(id="a", title="", body="ঢাকা চট্টগ্রাম মহাসড়কে যানজট"))
        writer.add(Article(id="b", title="", body="মহাসড়কে যানজট থেকে ঢাকা"))
    searcher = index.searcher()
    for phrase, found in (("ঢাকা চট্টগ্রাম", ["a"]), ("মহাসড়কে যানজট", ["a", "b"])):
        for fields in (None, ["body_exact"], ["body", "body_exact"]):
            results = searcher.search(f'"{phrase}"', fields=fields)
            assert any("keeps no positions" in note for note in results.notes), (phrase, fields)
            assert sorted(results.ids) == (found if fields != ["body_exact"] else []), fields
    empty = searcher.search('"ঢাকা চট্টগ্রাম"', fields=["title"])
    assert empty.ids == [] and any("no document holds" in note for note in empty.notes)
    assert searcher.search('"ঢাকা চট্টগ্রাম"', fields=["body"]).ids == ["a"]
