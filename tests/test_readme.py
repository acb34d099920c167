"""README's commands and Python example stay true."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_opens_with_setup_test_and_demo_commands() -> None:
    shell = code_blocks("bash")
    assert shell[0].splitlines() == [
        'python3 -m venv .venv && .venv/bin/pip install -e ".[test]"',
        ".venv/bin/python -m pytest",
    ]
    assert shell[1].strip() == ".venv/bin/bnsearch demo"
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert shell[0].splitlines()[0] in ci and shell[0].splitlines()[1] in ci


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (example,) = code_blocks("python")
    assert len(example.strip().splitlines()) <= 16
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, str(README), "exec"), {})
    printed = out.getvalue()
    assert "matches;" in printed and "related:" in printed
    assert "[সিলেট" in printed or "[বন্যা" in printed
    assert os.path.isdir(tmp_path / "news-index")
