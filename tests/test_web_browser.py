"""The search page in headless Chromium (Selenium): type, complete, search, see marks,
narrow by a facet, page on, follow a did-you-mean and a related link; strings with
``<script>`` stay text. Set ``BNSEARCH_SCREENSHOT=docs/service.png`` to save the picture
used in the docs.

Needs the Debian packages ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them); skips with the reason when they are absent.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")
uvicorn = pytest.importorskip("uvicorn", reason="the web extra (uvicorn) is not installed")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")

from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

from bnsearch import Article, Index, demo_corpus_path, read_articles  # noqa: E402
from bnsearch.web import create_app  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="headless browser test needs chromium and chromedriver "
    "(apt-get install chromium chromium-driver)",
)

XSS_ID = "xss-page"
XSS_TITLE = "<script>window.__xss = 1</script><img src=x onerror=window.__xss=2> ঝুমঝুমি উৎসব"
XSS_BODY = (
    "ঝুমঝুমি <b>বাজল</b> <script>window.__xss = 3</script> মেলায়।\n\n<img src=x onerror=window.__xss=4>"
)
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def index() -> Index:
    index = Index.in_memory()
    with index.writer() as writer:
        for article in read_articles(demo_corpus_path()):
            writer.add(article)
        writer.add(Article(id=XSS_ID, title=XSS_TITLE, body=XSS_BODY, section="<i>বিভাগ</i>"))
    return index


@pytest.fixture(scope="module")
def base_url(index: Index) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(create_app(index), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1000")
    options.add_argument("--lang=bn")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(
            options=options, service=webdriver.ChromeService(executable_path=DRIVER)
        )
    except WebDriverException as error:
        pytest.skip(f"chromium did not start: {error.msg}")
    try:
        yield driver
    finally:
        driver.quit()


def wait(condition: Callable[[], T], timeout: float = 10.0) -> T:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except WebDriverException as error:  # the element is being replaced
            last = error
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting ({last})")


def hit_ids(driver: Any) -> list[str]:
    return [
        a.get_attribute("data-id") for a in driver.find_elements(By.CSS_SELECTOR, "#results h3 a")
    ]


def no_page_errors(driver: Any) -> None:
    severe = [
        e
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and "favicon" not in e["message"]
    ]
    assert not severe, severe


def test_search_facet_page_and_related(browser: Any, base_url: str, index: Index) -> None:
    searcher = index.searcher()
    browser.get(base_url)
    box = browser.find_element(By.ID, "q")
    box.send_keys("বন্")
    completions = wait(
        lambda: [
            li.text
            for li in browser.find_elements(By.CSS_SELECTOR, "#completions li")
            if li.is_displayed()
        ]
    )
    assert completions == searcher.complete("বন্", limit=8)
    box.send_keys("যা", Keys.ENTER)

    expected = searcher.search("বন্যা", limit=10)
    wait(lambda: hit_ids(browser) == expected.ids)
    marks = browser.find_elements(By.CSS_SELECTOR, "#results mark")
    assert marks and all(m.text.startswith("বন্যা") for m in marks)
    assert "১৩" in browser.find_element(By.ID, "status").text  # 13 matches, Bengali digits
    if os.environ.get("BNSEARCH_SCREENSHOT"):
        browser.save_screenshot(os.environ["BNSEARCH_SCREENSHOT"])

    # the second page is the library's offset 10
    browser.find_element(By.ID, "next").click()
    wait(lambda: hit_ids(browser) == searcher.search("বন্যা", limit=10, offset=10).ids)
    assert "page=2" in browser.current_url

    # a facet narrows the search to its section
    button = browser.find_element(By.CSS_SELECTOR, '#facet-list button[data-section="জাতীয়"]')
    button.click()
    narrowed = searcher.search("বন্যা", limit=10, filter={"section": "জাতীয়"})
    wait(lambda: hit_ids(browser) == narrowed.ids)
    assert narrowed.total == 7 and len(narrowed.ids) == 7
    active = browser.find_element(By.CSS_SELECTOR, "#facet-list button.active")
    assert active.get_attribute("data-section") == "জাতীয়"

    # an article, its related articles, and one of those
    first = narrowed.ids[0]
    browser.find_element(By.CSS_SELECTOR, f'#results h3 a[data-id="{first}"]').click()
    title = wait(lambda: browser.find_element(By.ID, "article-title").text)
    assert title == index.reader().article(first).title
    related = searcher.related(first, limit=8).ids
    links = wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#related a"))
    assert [a.get_attribute("data-id") for a in links] == related
    target = related[0]
    links[0].click()
    wait(
        lambda: (
            browser.find_element(By.ID, "article-title").text
            == index.reader().article(target).title
        )
    )
    assert "article=" in browser.current_url

    # back goes to the article we came from, then to the results
    browser.back()
    wait(lambda: browser.find_element(By.ID, "article-title").text == title)
    no_page_errors(browser)


def test_did_you_mean(browser: Any, base_url: str, index: Index) -> None:
    typo = "বন্যাা"
    suggestion = index.searcher().suggest(typo)
    assert suggestion and suggestion != typo
    browser.get(base_url + "?q=" + typo)
    link = wait(
        lambda: (
            browser.find_element(By.ID, "suggestion-link")
            if browser.find_element(By.ID, "suggestion").is_displayed()
            else None
        )
    )
    assert link.text == suggestion
    link.click()
    wait(lambda: hit_ids(browser) == index.searcher().search(suggestion, limit=10).ids)
    assert browser.find_element(By.ID, "q").get_attribute("value") == suggestion


def test_script_in_titles_and_bodies_stays_text(browser: Any, base_url: str, index: Index) -> None:
    browser.get(base_url + "?q=ঝুমঝুমি")
    wait(lambda: hit_ids(browser) == [XSS_ID])
    link = browser.find_element(By.CSS_SELECTOR, "#results h3 a")
    assert "<script>window.__xss = 1</script>" in link.text
    assert "<b>বাজল</b>" in browser.find_element(By.CSS_SELECTOR, "#results .snippet").text
    facet = browser.find_element(By.CSS_SELECTOR, "#facet-list button[data-section]")
    (section,) = index.searcher().search("ঝুমঝুমি").facets["section"]
    assert "<i" in section  # the section keeps its markup characters as text
    assert facet.get_attribute("data-section") == section
    assert facet.text.startswith(section)
    for tag in ("script", "img", "b", "i"):
        assert not browser.find_elements(By.CSS_SELECTOR, f"main {tag}"), tag
    link.click()
    wait(lambda: "<script>" in browser.find_element(By.ID, "article-title").text)
    body = browser.find_element(By.ID, "article-body").text
    assert "<img src=x onerror=window.__xss=4>" in body
    for tag in ("script", "img", "b"):
        assert not browser.find_elements(By.CSS_SELECTOR, f"main {tag}"), tag
    time.sleep(0.3)  # give an injected handler its chance
    assert browser.execute_script("return window.__xss === undefined")


def test_screenshot_is_written_when_asked(tmp_path: Path, browser: Any, base_url: str) -> None:
    browser.get(base_url + "?q=বন্যা")
    wait(lambda: hit_ids(browser))
    shot = tmp_path / "page.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
