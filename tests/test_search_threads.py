"""A Searcher shared by threads gives the same answers as one used alone (docs/guide.md)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bnsearch import Index, read_articles
from bnsearch.articles import demo_corpus_path

QUERIES = ["বৈঠকে", "পুলিশ", "বন্যা সিলেট", '"বাজেট পাস"', "প্র*", "ক্রিকেট~", "section:খেলা রান"]


def test_threads_share_one_searcher() -> None:
    index = Index.in_memory()
    with index.writer() as writer:
        for article in read_articles(demo_corpus_path()):
            writer.add(article)
    alone = {q: index.searcher().search(q, limit=5).ids for q in QUERIES}
    shared = index.searcher()  # fresh: its lazy caches are filled by the threads at once
    work = QUERIES * 20
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda q: (q, shared.search(q, limit=5).ids), work))
    assert all(ids == alone[q] for q, ids in answers)
    assert all(alone[q] for q in QUERIES)
