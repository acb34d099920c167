"""The compact link graph against a from-scratch reference, over random changes.

The reference keeps the live articles in a dict and, after every step, resolves every link
with :func:`~bnsearch.articles.links.resolve_link` (the one rule) over plain dicts of
sets built from scratch. The graph (interned keys, numpy columns, multimaps folded as they
grow, rows compacted after many replacements) must agree on every link's resolution, the
edges both ways, the in-link counts, the pending links, the insertion order, and report
every target whose incoming links changed. Small universes of ids, titles and URLs make
links collide, go ambiguous, point at their own article, resolve late and break.
"""

from __future__ import annotations

import random

import pytest

from bnsearch.articles import linkstore
from bnsearch.articles.links import LinkGraph, LinkKeys, LinkStatus, resolve_link

Row = tuple[str, str, tuple[LinkKeys, ...]]  # title key, URL key, link keys


def reference(live: dict[str, Row]) -> dict[tuple[str, int], object]:
    by_title: dict[str, set[str]] = {}
    by_url: dict[str, set[str]] = {}
    for ident, (title, url, _) in live.items():
        if title:
            by_title.setdefault(title, set()).add(ident)
        if url:
            by_url.setdefault(url, set()).add(ident)
    return {
        (ident, number): resolve_link(
            ident, keys, live=live.__contains__, by_url=by_url, by_title=by_title
        )
        for ident, (_, _, links) in live.items()
        for number, keys in enumerate(links)
    }


def incoming(states: dict[tuple[str, int], object]) -> dict[str, list[tuple[str, int]]]:
    found: dict[str, list[tuple[str, int]]] = {}
    for ref, state in states.items():
        if state.status is LinkStatus.RESOLVED:  # type: ignore[attr-defined]
            found.setdefault(state.target, []).append(ref)  # type: ignore[attr-defined]
    return {target: sorted(refs) for target, refs in found.items()}


def check(graph: LinkGraph, live: dict[str, Row]) -> dict[tuple[str, int], object]:
    states = reference(live)
    assert list(graph.ids()) == list(live)
    assert len(graph) == len(live) and graph.link_count == len(states)
    for (ident, number), state in states.items():
        assert graph.resolution(ident, number) == state, (ident, number)
    into = incoming(states)
    for ident in live:
        assert graph.incoming_refs(ident) == into.get(ident, [])
        assert graph.in_links(ident) == tuple(sorted({s for s, _ in into.get(ident, [])}))
        targets = [states[(ident, n)] for n in range(len(live[ident][2]))]
        expected = [s.target for s in targets if s.status is LinkStatus.RESOLVED]  # type: ignore[attr-defined]
        assert graph.out_links(ident) == tuple(dict.fromkeys(expected))
    asked = [*live, "absent", "", *list(live)[:2]]  # the bulk form, repeats and unknowns
    assert graph.incoming_refs_many(asked) == [into.get(ident, []) for ident in asked]
    runs = graph.incoming_ref_runs(asked)  # the arrays it is made of
    assert runs.sources == sorted(set(runs.sources)) and len(runs.bounds) == len(asked) + 1
    assert set(runs.sources) == {s for ident in asked for s, _ in into.get(ident, [])}
    assert dict(graph.in_link_counts()) == {
        target: len({s for s, _ in refs}) for target, refs in sorted(into.items())
    }
    pending = sorted(r for r, s in states.items() if s.status is LinkStatus.UNRESOLVED)  # type: ignore[attr-defined]
    assert graph.unresolved_refs() == pending
    assert graph.ambiguous_refs() == sorted(
        (r, s.candidates)  # type: ignore[attr-defined]
        for r, s in states.items()
        if s.status is LinkStatus.AMBIGUOUS  # type: ignore[attr-defined]
    )
    for ident in ("absent", "n-none"):
        assert ident not in graph and graph.incoming_refs(ident) == []
    return states


def random_row(rng: random.Random, ids: list[str], titles: list[str], urls: list[str]) -> Row:
    links = tuple(
        (
            rng.choice([*titles, "", "কোথাও নেই"]),
            rng.choice(urls) if rng.random() < 0.3 else "",
            rng.choice([*ids, "gone"]) if rng.random() < 0.2 else "",
        )
        for _ in range(rng.choice([0, 1, 2, 3, 6]))
    )
    return rng.choice(titles), rng.choice(urls) if rng.random() < 0.5 else "", links


def run(seed: int, steps: int, universe: int) -> None:
    rng = random.Random(seed)
    ids = [f"n{number}" for number in range(universe)]
    titles = [f"শিরোনাম {number}" for number in range(max(3, universe // 3))] + ["x", ""]
    urls = [f"http://example.com/{number}" for number in range(max(2, universe // 4))]
    graph = LinkGraph()
    live: dict[str, Row] = {}
    states = check(graph, live)
    for _ in range(steps):
        before = incoming(states)
        removed: list[str] = []
        added: list[tuple[str, str, str, tuple[LinkKeys, ...]]] = []
        kind = rng.random()
        if kind < 0.15 and live:  # retitle: same links, another title
            ident = rng.choice(list(live))
            _, url, links = live[ident]
            added.append((ident, rng.choice(titles), url, links))
        elif kind < 0.3:
            removed = rng.sample([*ids, "gone"], rng.randrange(1, 4))
        else:  # a batch, sometimes big enough to be applied in bulk, ids may repeat
            size = rng.choice([1, 1, 2, 5, 40])
            added = [(rng.choice(ids), *random_row(rng, ids, titles, urls)) for _ in range(size)]
            if rng.random() < 0.3:
                removed = rng.sample(ids, 2)
        if len(added) == 1 and not removed and rng.random() < 0.5:
            ident, key, url, links = added[0]
            graph.put(ident, title_key=key, url_key=url, link_keys=links)
            changed = None
        elif len(removed) == 1 and not added:
            assert graph.remove(removed[0]) is (removed[0] in live)
            changed = None
        else:
            changed = graph.update(removed=removed, added=added)
        for ident in removed:
            live.pop(ident, None)
        for ident, key, url, links in added:
            live.pop(ident, None)
            live[ident] = (key, url, links)
        states = check(graph, live)
        if changed is not None:  # every target whose incoming links differ is reported
            after = incoming(states)
            differ = {t for t in before.keys() | after.keys() if before.get(t) != after.get(t)}
            assert differ <= changed


@pytest.mark.parametrize("seed", range(6))
def test_random_changes_match_a_resolution_from_scratch(seed: int) -> None:
    run(seed, steps=120, universe=12)


def test_many_replacements_compact_the_rows() -> None:
    run(99, steps=400, universe=40)  # thousands of dead rows: compaction runs several times


def test_colliding_hashes_keep_keys_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every string hashing to one of three values: keys stay exact (each hash hit is
    compared), so the graph still agrees with the reference."""
    monkeypatch.setattr(linkstore, "string_hash", lambda text: len(text) % 3)
    run(7, steps=80, universe=10)
    atoms = linkstore.Atoms()
    words = [f"w{number}" for number in range(50)] + ["শব্দ", "é", "w1"]
    numbers = atoms.intern_many(words)
    assert numbers[1] == numbers[-1] and len(set(numbers.tolist())) == 52
    assert [atoms.text(int(n)) for n in numbers] == words
    assert atoms.find("w7") == numbers[7] and atoms.find("w99") == -1
    assert atoms.intern("w99") == 52 and atoms.find("w99") == 52


def test_bulk_build_equals_one_by_one() -> None:
    rng = random.Random(5)
    ids = [f"n{number}" for number in range(3000)]
    titles = [f"শিরোনাম {number}" for number in range(2000)]
    urls = [f"u{number}" for number in range(1500)]
    rows = [(ident, *random_row(rng, ids, titles, urls)) for ident in ids]
    bulk = LinkGraph()
    bulk.update(added=rows)
    single = LinkGraph()
    for ident, key, url, links in rows:
        single.put(ident, title_key=key, url_key=url, link_keys=links)
    check(bulk, {ident: (key, url, links) for ident, key, url, links in rows})
    assert [bulk.incoming_refs(i) for i in ids] == [single.incoming_refs(i) for i in ids]
    assert [bulk.out_links(i) for i in ids] == [single.out_links(i) for i in ids]
    assert bulk.ambiguous_refs() == single.ambiguous_refs()
    assert bulk.unresolved_refs() == single.unresolved_refs()


def test_incoming_refs_many_without_a_resolved_link() -> None:
    """Articles whose links all fail or go ambiguous: the bulk form gives an empty list a
    target (none of its refs to cut apart), like the single form."""
    graph = LinkGraph()
    graph.update(
        added=[
            ("a", "খবর", "", (("নেই", "", ""),)),  # names no article
            ("b", "খবর", "", ()),
            ("c", "দুই", "", (("খবর", "", ""),)),  # two articles have this title: ambiguous
        ]
    )
    assert graph.incoming_refs_many(["a", "b", "c", "absent"]) == [[], [], [], []]
    assert graph.incoming_refs_many([]) == []
    assert [graph.incoming_refs(i) for i in "abc"] == [[], [], []]
