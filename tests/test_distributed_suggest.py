"""Did-you-mean, autocomplete and stored articles of a sharded index (in this process)
against one index holding the same real articles (BeliN)."""

from __future__ import annotations

import itertools

import pytest

from bnsearch.articles import Article, read_articles
from bnsearch.distributed import ShardedIndex, ShardedSearcher
from bnsearch.errors import SchemaError
from bnsearch.index import Index
from bnsearch.search import Searcher
from tests.conftest import shared_file

ARTICLES = 1200
#: confusable letters a typist swaps (the kind of slip did-you-mean exists for)
SWAPS = [("ী", "ি"), ("ি", "ী"), ("শ", "স"), ("ষ", "শ"), ("ণ", "ন"), ("ূ", "ু")]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Searcher, ShardedSearcher]:
    path = shared_file("corpus/belin_religious_news.jsonl")
    articles: list[Article] = list(itertools.islice(read_articles(path), ARTICLES))
    root = tmp_path_factory.mktemp("suggest")
    one = Index.create(root / "one")
    with one.writer() as writer:  # two commits: several segments, as real indexes have
        writer.add_many(articles[:700])
    with one.writer() as writer:
        writer.add_many(articles[700:])
    sharded = ShardedIndex.create(root / "sharded", shards=3)
    sharded.add(articles[:500])
    sharded.add(articles[500:])
    return one.searcher(), sharded.searcher()


def corpus_words(one: Searcher, count: int) -> list[str]:
    """Frequent body words of the corpus (stored text, not terms) of 5+ letters."""
    seen: dict[str, int] = {}
    for hit in one.search("ধর্ম", limit=200):
        for word in str(hit.fields.get("body", "")).split():
            word = word.strip("।,;:!?\"'()[]‘’“”-")
            if len(word) >= 5 and all("\u0980" <= c <= "\u09ff" for c in word):
                seen[word] = seen.get(word, 0) + 1
    return [w for w, _ in sorted(seen.items(), key=lambda item: -item[1])][:count]


def typos(words: list[str]) -> list[str]:
    found = []
    for word in words:
        for a, b in SWAPS:
            if a in word:
                found.append(word.replace(a, b, 1))
                break
    return found


def test_the_merged_dictionary_is_one_indexs(pair: tuple[Searcher, ShardedSearcher]) -> None:
    one, sharded = pair
    mine = one._ctx.dictionary("body")
    merged = sharded.dictionary("body")
    assert len(merged) == len(mine) > 1000
    assert merged.terms == mine.terms
    assert merged.doc_freqs.tolist() == mine.doc_freqs.tolist()
    # no shard alone has them all
    assert all(s.doc_count < one.doc_count for s in sharded.states)


def test_suggest_equals_one_index(pair: tuple[Searcher, ShardedSearcher]) -> None:
    one, sharded = pair
    words = corpus_words(one, 60)
    queries = typos(words)
    assert len(queries) >= 20
    corrected = 0
    for query in queries:
        expected = one.suggest(query)
        assert sharded.suggest(query) == expected, query
        corrected += expected is not None
    assert corrected >= len(queries) // 3  # the swaps are real slips, mostly caught
    for word in words[:20]:  # a word spelled as the corpus spells it is left alone
        assert sharded.suggest(word) == one.suggest(word)


def test_complete_equals_one_index(pair: tuple[Searcher, ShardedSearcher]) -> None:
    one, sharded = pair
    prefixes = sorted({word[:3] for word in corpus_words(one, 40)})
    assert len(prefixes) >= 10
    for prefix in prefixes:
        expected = one.complete(prefix, limit=6)
        assert expected, prefix
        assert sharded.complete(prefix, limit=6) == expected, prefix
    assert sharded.complete("মসজিদ ", limit=6) == []  # the last word is finished


def test_article_and_field_errors(pair: tuple[Searcher, ShardedSearcher]) -> None:
    one, sharded = pair
    for hit in one.search("মসজিদ", limit=5):
        assert sharded.article(hit.id) == one.reader.article(hit.id)
    assert sharded.article("no-such-id") is None
    with pytest.raises(SchemaError, match="section"):
        sharded.suggest("মসজিদ", field="section")
    with pytest.raises(SchemaError, match="completion"):
        sharded.complete("মস", field="section")
    assert sharded.segment_count() >= 3  # every shard has a segment
