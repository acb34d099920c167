"""Draw docs/benchmarks.png from the figures recorded in benchmarks/figures.json.

Run after updating figures.json with a new benchmark run:
``python benchmarks/plot.py`` (needs matplotlib, in the ``dev`` extra).
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "docs" / "benchmarks.png"


def main() -> None:
    figures = json.loads((HERE / "figures.json").read_text(encoding="utf-8"))
    fig, (analysis, indexing, query) = plt.subplots(1, 3, figsize=(15, 4.6))

    words = figures["analysis_words_per_s"]
    analysis.barh(list(words), [v / 1e6 for v in words.values()], color="#4c72b0")
    analysis.set_xlabel("million words/s (higher is better)")
    analysis.set_title("Analysis, BeliN corpus")
    analysis.invert_yaxis()

    articles = figures["indexing_articles_per_s"]
    indexing.barh(list(articles), list(articles.values()), color="#55a868")
    indexing.set_xlabel("articles/s (higher is better)")
    indexing.set_title("Indexing, BeliN corpus (same analyzer)")
    indexing.invert_yaxis()

    latency = figures["query_p50_ms_bqa"]
    kinds = latency["kinds"]
    systems = [name for name in latency if name != "kinds"]
    width = 0.8 / len(systems)
    for number, name in enumerate(systems):
        offsets = [k + number * width for k in range(len(kinds))]
        query.bar(offsets, latency[name], width=width, label=name)
    query.set_xticks([k + 0.4 - width / 2 for k in range(len(kinds))], kinds, rotation=20)
    query.set_yscale("log")
    query.set_ylabel("p50 ms, log scale (lower is better)")
    query.set_title("Top-10 ids, BQA + BeliN (4,008 docs)")
    query.legend(fontsize=8)

    fig.suptitle(
        f"bnsearch and its peers, measured in the same runs (2-core machine; {figures['dates']})"
    )
    fig.tight_layout()
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
