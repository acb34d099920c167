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
