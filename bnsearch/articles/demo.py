"""The demo corpus shipped inside the package: where its page files are.

The corpus is 52 short Bengali news articles written for bnsearch (fictional events, invented
names), one page file per article in ``bnsearch/data/demo/<id>.txt``, in the page format read
by :func:`bnsearch.articles.parse_page`. The file name without ``.txt`` is the article id
(``demo-jatiyo-01``, ``demo-khela-03``, ...). It is the default corpus of ``bnsearch demo``
and of the examples.

This module only locates the files; reading them is :func:`bnsearch.articles.read_articles`
(``read_articles(demo_corpus_path())``) or :func:`bnsearch.articles.read_page_file`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from bnsearch.errors import ArticleError

#: Package that holds the data folders.
DATA_PACKAGE = "bnsearch.data"
#: Folder of the demo corpus inside :data:`DATA_PACKAGE`.
DEMO_FOLDER = "demo"
#: File name suffix of a demo page.
PAGE_SUFFIX = ".txt"


def demo_corpus_path() -> Path:
    """The folder that holds the demo page files, as a real file-system path.

    Raises :class:`~bnsearch.errors.ArticleError` when bnsearch is installed in a way that
    does not put its data files on disk (for example imported from a zip archive), or when
    the folder is missing from the installation.
    """
    folder = resources.files(DATA_PACKAGE).joinpath(DEMO_FOLDER)
    if not isinstance(folder, Path):
        raise ArticleError(
            "the demo corpus is not on the file system (bnsearch seems to be imported from "
            "an archive); install bnsearch as a normal package to use it",
            path=str(folder),
        )
    if not folder.is_dir():
        raise ArticleError(
            "the demo corpus folder is missing from this bnsearch installation; reinstall bnsearch",
            path=str(folder),
        )
    return folder


def demo_article_files() -> list[Path]:
    """The demo page files (``<id>.txt``), sorted by file name.

    Raises :class:`~bnsearch.errors.ArticleError` when the folder holds no page file.
    """
    folder = demo_corpus_path()
    files = sorted(
        (entry for entry in folder.iterdir() if entry.suffix == PAGE_SUFFIX and entry.is_file()),
        key=lambda entry: entry.name,
    )
    if not files:
        raise ArticleError(
            f"the demo corpus folder has no {PAGE_SUFFIX} page files; reinstall bnsearch",
            path=str(folder),
        )
    return files
