"""The command line, run in-process through ``bnsearch.cli.main``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bnsearch.articles import demo_corpus_path
from bnsearch.cli import main


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "index"
    assert main(["index", str(demo_corpus_path()), "--index", str(path)]) == 0
    return path


def test_index_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "one.txt"
    page.write_text(
        "হোম > খেলা\n\nমিরপুরে বাংলাদেশের জয়\n\nমিরপুরে আজ বাংলাদেশ জিতেছে।\n", encoding="utf-8"
    )
    assert main(["index", str(page), "--index", str(tmp_path / "ix")]) == 0
    out = capsys.readouterr().out
    assert "added: 1" in out and "replaced: 0" in out and "skipped: 0" in out
    assert main(["index", str(page), "--index", str(tmp_path / "ix")]) == 0
    assert "added: 0, replaced: 1" in capsys.readouterr().out


def test_search_json_is_machine_readable(
    demo_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "পুলিশ", "--index", str(demo_index), "--json", "--limit", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] >= 2 and len(data["hits"]) == 2
    assert data["hits"][0]["score"] >= data["hits"][1]["score"]
    for hit in data["hits"]:
        body = hit["highlights"]["body"]
        for start, end in body["spans"]:
            assert body["text"][start:end].startswith("পুলিশ")


def test_search_pages_and_sections(demo_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["search", "বন্যা", "--index", str(demo_index), "--json", "--limit", "50"])
    everything = json.loads(capsys.readouterr().out)
    main(["search", "বন্যা", "--index", str(demo_index), "--json", "--limit", "2", "--offset", "2"])
    page = json.loads(capsys.readouterr().out)
    assert [h["id"] for h in page["hits"]] == [h["id"] for h in everything["hits"][2:4]]
    main(["search", "বন্যা", "--index", str(demo_index), "--json", "--section", "শিক্ষা"])
    filtered = json.loads(capsys.readouterr().out)
    assert filtered["total"] >= 1
    assert all(h["section"][0] == "শিক্ষা" for h in filtered["hits"])


def test_search_text_output_marks_highlights(
    demo_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "বৈঠকে", "--index", str(demo_index), "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert "«বৈঠক" in out and "matches" in out and "sections:" in out


def test_related_stats_and_verify(demo_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["related", "demo-jatiyo-01", "--index", str(demo_index), "--json"]) == 0
    related = json.loads(capsys.readouterr().out)
    assert related["hits"] and all(h["id"] != "demo-jatiyo-01" for h in related["hits"])
    assert main(["stats", "--index", str(demo_index)]) == 0
    assert "articles: 52" in capsys.readouterr().out
    assert main(["verify", str(demo_index)]) == 0
    assert "OK" in capsys.readouterr().out


def test_related_lists_say_why_not_a_rank_score(
    demo_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bnsearch import Index

    searcher = Index.open(demo_index).searcher()
    own = [t for t in searcher.reader.out_links("demo-jatiyo-04") if t != "demo-jatiyo-04"]
    linking = set(searcher.reader.in_links("demo-jatiyo-04")) - set(own)
    assert own, "the demo page demo-jatiyo-04 has related headlines that resolve"
    args = ["related", "demo-jatiyo-04", "--index", str(demo_index), "--limit", "20"]
    assert main([*args, "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    relations = [hit["relation"] for hit in hits]
    assert [h["id"] for h in hits[: len(own)]] == own  # the page's own links, page order
    assert relations[: len(own)] == ["linked from this page"] * len(own)
    assert all(
        (hit["relation"] == "links here") == (hit["id"] in linking) for hit in hits[len(own) :]
    )
    assert main([*args, "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert "linked from this page" in out and "score 20" not in out


def test_errors_are_one_line_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "x", "--index", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bnsearch: error:") and "Traceback" not in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "title": "t", "body": "b"}\n{broken\n', encoding="utf-8")
    assert main(["index", str(bad), "--index", str(tmp_path / "ix")]) == 1
    err = capsys.readouterr().err
    assert "bad.jsonl" in err and "line 2" in err


def test_skip_bad_reports_and_continues(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "title": "শিরোনাম", "body": "খবর"}\n{broken\n', encoding="utf-8")
    assert main(["index", str(bad), "--index", str(tmp_path / "ix"), "--skip-bad"]) == 0
    captured = capsys.readouterr()
    assert "added: 1" in captured.out and "skipped: 1" in captured.out
    assert "line 2" in captured.err


def test_analyze_shows_offsets_and_stopwords(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "বৈঠকে এবং ১৫টি"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "icu=" in lines[0]
    assert any("বৈঠকে" in line and line.rstrip().endswith("বৈঠক") for line in lines)
    assert any("(stopword)" in line for line in lines)
    assert any(line.rstrip().endswith(" 15") for line in lines)


def test_demo_with_a_query_runs_as_a_console_script(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bnsearch.cli",
            "demo",
            "পুলিশ",
            "--index",
            str(tmp_path / "d"),
            "--color",
            "never",
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "«পুলিশ" in done.stdout and "পুল " not in done.stdout.split("===")[1].split("\n")[0]


def test_index_summary_counts_links_that_point_nowhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the demo corpus has 8 related lines that match no demo headline (tests/test_articles_demo.py)
    assert main(["index", str(demo_corpus_path()), "--index", str(tmp_path / "ix")]) == 0
    assert "unresolved links: 8, ambiguous links: 0" in capsys.readouterr().out


def test_search_sorts_and_filters_by_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "dated.jsonl"
    rows = [
        {"id": "old", "title": "বন্যা", "body": "বন্যা", "published": "2023-06-01"},
        {"id": "new", "title": "বন্যা", "body": "বন্যা বন্যা", "published": "2024-06-01"},
        {"id": "mid", "title": "বন্যা", "body": "বন্যা", "published": "2024-01-01T10:00:00+06:00"},
    ]
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    assert main(["index", str(source), "--index", str(tmp_path / "ix")]) == 0
    capsys.readouterr()
    base = ["search", "বন্যা", "--index", str(tmp_path / "ix"), "--json"]
    main([*base, "--sort", "newest"])
    assert [h["id"] for h in json.loads(capsys.readouterr().out)["hits"]] == ["new", "mid", "old"]
    main([*base, "--since", "2024-01-01", "--until", "2024-06-01"])
    assert [h["id"] for h in json.loads(capsys.readouterr().out)["hits"]] == ["mid"]
    with pytest.raises(SystemExit):
        main([*base, "--since", "last week"])
    assert "not a YYYY-MM-DD date" in capsys.readouterr().err


def test_a_reader_that_goes_away_stops_the_output_quietly() -> None:
    """``bnsearch demo | head -1``: no error message, no traceback, SIGPIPE's status."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bnsearch.cli", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # like head after its first line
    errors = process.stderr.read().decode()
    # 141 when the output outran the reader (nearly always: the index is built after
    # the first line); 0 if the child happened to print everything first
    assert process.wait(timeout=120) in (141, 0)
    assert "error" not in errors and "Traceback" not in errors


# -- rough edges a new user met (issue 14) -------------------------------------------------


def test_related_of_an_unknown_id_is_a_clear_error(
    demo_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["related", "no-such-id", "--index", str(demo_index)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bnsearch: error:") and "'no-such-id'" in err
    assert "Traceback" not in err and "KeyError" not in err


def test_verify_takes_index_like_every_command(
    demo_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--index", str(demo_index)]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["verify", "-i", str(demo_index)]) == 0
    assert main(["verify", str(demo_index)]) == 0  # the positional form still works
    capsys.readouterr()
    assert main(["verify"]) == 1
    assert "--index DIR" in capsys.readouterr().err


def test_a_failed_first_index_run_leaves_no_index_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "title": "t", "body": "b"}\n{broken\n', encoding="utf-8")
    assert main(["index", str(bad), "--index", str(tmp_path / "new")]) == 1
    assert not (tmp_path / "new").exists()
    assert "--skip-bad" in capsys.readouterr().err  # the flag that helps
    (tmp_path / "empty").mkdir()
    assert main(["index", str(bad), "--index", str(tmp_path / "empty")]) == 1
    assert (tmp_path / "empty").is_dir() and not any((tmp_path / "empty").iterdir())
    # an index that existed is left as it was
    good = tmp_path / "good.jsonl"
    good.write_text('{"id": "g", "title": "শিরোনাম", "body": "খবর"}\n', encoding="utf-8")
    assert main(["index", str(good), "--index", str(tmp_path / "ix")]) == 0
    assert main(["index", str(bad), "--index", str(tmp_path / "ix")]) == 1
    capsys.readouterr()
    assert main(["search", "খবর", "--index", str(tmp_path / "ix"), "--json"]) == 0
    assert [h["id"] for h in json.loads(capsys.readouterr().out)["hits"]] == ["g"]


def test_errors_suggest_command_line_flags_not_python(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bnsearch.index import Index

    (tmp_path / "nothing").mkdir()
    assert main(["search", "x", "--index", str(tmp_path / "nothing")]) == 1
    err = capsys.readouterr().err
    assert "bnsearch index FILES --index" in err and "Index.create" not in err
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    page = tmp_path / "p.txt"
    page.write_text("হোম > খেলা\n\nশিরোনাম\n\nখবর।\n", encoding="utf-8")
    assert main(["index", str(page), "--index", str(tmp_path / "other")]) == 1
    assert "new or empty folder" in capsys.readouterr().err
    assert (tmp_path / "other" / "notes.txt").exists()
    index = Index.create(tmp_path / "ix")
    with index.writer():  # another writer holds the lock
        assert main(["index", str(page), "--index", str(tmp_path / "ix")]) == 1
        err = capsys.readouterr().err
        assert "--timeout SECONDS" in err and "writer(timeout" not in err
        assert main(["delete", "x", "--index", str(tmp_path / "ix"), "--timeout", "0.2"]) == 1
        assert "waited 0.2 s" in capsys.readouterr().err
    assert main(["index", str(page), "--index", str(tmp_path / "ix"), "--timeout", "1"]) == 0


def test_a_query_may_start_with_a_dash(
    demo_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--index", str(demo_index), "--json", "--limit", "100"]
    main(["search", "বন্যা", *base])
    flood = {h["id"] for h in json.loads(capsys.readouterr().out)["hits"]}
    main(["search", "বন্যা", "-ঢাকা", *base])
    without = {h["id"] for h in json.loads(capsys.readouterr().out)["hits"]}
    main(["search", "ঢাকা", *base])
    dhaka = {h["id"] for h in json.loads(capsys.readouterr().out)["hits"]}
    assert without == flood - dhaka and dhaka & flood  # the '-' excluded something
    assert main(["search", "-ঢাকা", *base]) == 0  # a lone must-not: everything else
    assert json.loads(capsys.readouterr().out)["total"] == 52 - len(dhaka)
    with pytest.raises(SystemExit):
        main(["search", "বন্যা", "--no-such-flag", *base])


def test_delete_removes_articles_by_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ix"
    assert main(["index", str(demo_corpus_path()), "--index", str(path)]) == 0
    capsys.readouterr()
    assert main(["delete", "demo-khela-01", "demo-khela-02", "--index", str(path)]) == 0
    assert "deleted: 2, articles: 50" in capsys.readouterr().out
    assert main(["related", "demo-khela-01", "--index", str(path)]) == 1
    assert main(["delete", "demo-khela-01", "demo-khela-03", "--index", str(path)]) == 1
    captured = capsys.readouterr()
    assert "deleted: 1, articles: 49" in captured.out
    assert "no article with id 'demo-khela-01'" in captured.err


def test_query_from_standard_input(
    demo_index: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    main(["search", "পুলিশ", "--index", str(demo_index), "--json"])
    expected = json.loads(capsys.readouterr().out)["hits"]
    for argv in (["search", "-"], ["search"]):
        monkeypatch.setattr(sys, "stdin", io.StringIO("পুলিশ\n"))
        assert main([*argv, "--index", str(demo_index), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["hits"] == expected
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["search", "-", "--index", str(demo_index)]) == 1
    assert "standard input was empty" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("পুলিশ " * 1_000_000))  # 6 MB
    assert main(["search", "-", "--index", str(demo_index)]) == 1
    assert "characters long; the limit is" in capsys.readouterr().err


def test_one_match_is_singular_and_json_ranks_match_the_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "two.jsonl"
    rows = [
        {"id": "a", "title": "নদী", "body": "পদ্মা নদী", "url": "https://x.bd/a",
         "published": "2024-06-01T10:00:00+06:00"},
        {"id": "b", "title": "সেতু", "body": "পদ্মা সেতু"},
    ]  # fmt: skip
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    assert main(["index", str(source), "--index", str(tmp_path / "ix")]) == 0
    capsys.readouterr()
    base = ["--index", str(tmp_path / "ix"), "--color", "never"]
    main(["search", "নদী", *base])
    out = capsys.readouterr().out
    assert out.startswith("1 match (1-1 shown)") and "\n  1. " in out
    main(["search", "পদ্মা", *base])
    assert capsys.readouterr().out.startswith("2 matches")
    main(["search", "পদ্মা", *base, "--json"])
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert [h["rank"] for h in hits] == [1, 2]
    by_id = {h["id"]: h for h in hits}
    assert by_id["a"]["url"] == "https://x.bd/a" and by_id["a"]["published"].startswith("2024")
    assert by_id["b"]["url"] is None and by_id["b"]["published"] is None


def test_demo_related_block_honours_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--index", str(tmp_path / "d"), "--limit", "1", "--color", "never"]) == 0
    out = capsys.readouterr().out
    related = out.split("=== related articles of")[1]
    assert "(1-1 shown)" in related and "\n  2. " not in related


def test_an_empty_jsonl_file_gives_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    assert main(["index", str(tmp_path / "empty.jsonl"), "--index", str(tmp_path / "ix")]) == 0
    captured = capsys.readouterr()
    assert "warning:" in captured.err and "empty.jsonl: no articles" in captured.err
    assert "added: 0" in captured.out


def test_a_query_with_undecodable_bytes_never_raises(demo_index: Path) -> None:
    # argv bytes that are not UTF-8 reach Python as lone surrogates
    done = subprocess.run(
        [sys.executable, "-m", "bnsearch.cli", "search", "পুলিশ\udcff", "--index", str(demo_index)],
        capture_output=True,
        timeout=120,
        env={**__import__("os").environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert "Traceback" not in done.stderr.decode(errors="replace")
