"""The built site works in a real browser: headless Chromium opens every page.

For each page of the site: it loads, its scripts run, it shows its title (the ``<title>``
mkdocs wrote and a visible ``<h1>``), and it logs no console error (a failed request,
an uncaught exception, a broken script).  The search box finds pages.

Marked ``browser``: the suite's usual scripts deselect it, and ``.ci/run`` runs it on its
own with ``hatch run docs:browser-test``, which carries selenium.  It drives Debian's
``chromium`` through Debian's ``chromium-driver``; without them the test fails (it does
not skip) and says how to install them.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CHROMIUM_NAMES = ("chromium", "chromium-browser")
DRIVER_NAMES = ("chromedriver",)
INSTALL_HINT = "install Debian's packages: apt-get update && apt-get install -y chromium chromium-driver"
LOAD_TIMEOUT_SECONDS = 30
SEARCH_TIMEOUT_SECONDS = 30
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # the tests run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def page_urls() -> list[str]:
    """The site path of every Markdown page (``guide/index.md`` -> ``guide/``)."""
    paths = []
    for source in sorted(DOCS.rglob("*.md")):
        relative = source.relative_to(DOCS).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "index":
            parts.pop()
        paths.append("/".join(parts) + "/" if parts else "")
    return paths


PAGES = page_urls()


class _TitleParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.in_title = False
        self.title = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self.in_title = False

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data


def built_title(site: Path, path: str) -> str:
    parser = _TitleParser()
    parser.feed((site / path / "index.html").read_text(encoding="utf-8"))
    return parser.title.strip()


def _find(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site_url(built_site: Path) -> Iterator[str]:
    """Serve the built site on 127.0.0.1 from a thread; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="docs-site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(site_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium driven through chromedriver, with the console log captured."""
    chromium = _find(CHROMIUM_NAMES)
    driver_path = _find(DRIVER_NAMES)
    if chromium is None or driver_path is None:
        missing = " and ".join(n for n, p in (("chromium", chromium), ("chromedriver", driver_path)) if p is None)
        pytest.fail(f"{missing} not found on PATH: the browser test needs them; {INSTALL_HINT}", pytrace=False)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed: run this test with `hatch run docs:browser-test`", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: selenium then never looks for (or downloads) a driver itself.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        driver.set_page_load_timeout(LOAD_TIMEOUT_SECONDS)
        yield driver
    finally:
        driver.quit()


def _console_errors(driver: Any) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _open(driver: Any, url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(url)
    WebDriverWait(driver, LOAD_TIMEOUT_SECONDS).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


@pytest.mark.parametrize("path", PAGES, ids=[path or "home" for path in PAGES])
def test_page_renders_its_title_without_console_errors(
    path: str, browser: Any, site_url: str, built_site: Path
) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, site_url + path)
    expected = built_title(built_site, path)
    assert expected, f"the built page {path or '/'} has an empty <title>"
    assert browser.title == expected, f"{path or '/'}: the browser shows title {browser.title!r}, not {expected!r}"
    headings = [h for h in browser.find_elements(By.CSS_SELECTOR, "article h1") if h.is_displayed()]
    assert headings, f"{path or '/'}: no visible <h1> in the page's article"
    heading = headings[0].text.replace("\u00b6", "").strip()
    assert heading and heading in expected, f"{path or '/'}: the heading {heading!r} is not in the title {expected!r}"
    # Material replaces "no-js" with "js" once its bundle has run.
    classes = browser.execute_script("return document.documentElement.className")
    assert "no-js" not in classes.split(), f"{path or '/'}: the site's JavaScript did not run"
    errors = _console_errors(browser)
    assert not errors, f"{path or '/'} logged console errors:\n" + "\n".join(errors)


_RESULT_LINKS_SCRIPT = "return Array.from(document.querySelectorAll('.md-search-result__item a'), a => a.href || '')"


def test_search_finds_pages(browser: Any, site_url: str) -> None:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    _open(browser, site_url)
    with contextlib.suppress(Exception):  # on narrow windows the box hides behind a button
        browser.find_element(By.CSS_SELECTOR, "label.md-header__button[for='__search']").click()
    box = WebDriverWait(browser, LOAD_TIMEOUT_SECONDS).until(
        lambda d: next(
            (e for e in d.find_elements(By.CSS_SELECTOR, "input.md-search__input") if e.is_displayed()), None
        )
    )
    box.click()
    box.send_keys("guidelines")
    # The results list is rebuilt after every keystroke, so elements found early go stale;
    # the links are read in one script call and the wait lasts until they settle on a hit.
    seen: list[list[str]] = [[]]

    def guideline_links(driver: Any) -> list[str] | None:
        seen[0] = driver.execute_script(_RESULT_LINKS_SCRIPT) or []
        return seen[0] if any("guidelines/" in href for href in seen[0]) else None

    try:
        WebDriverWait(browser, SEARCH_TIMEOUT_SECONDS).until(guideline_links)
    except TimeoutException:
        pytest.fail(f"searching 'guidelines' found {seen[0]}")
    errors = _console_errors(browser)
    assert not errors, "searching logged console errors:\n" + "\n".join(errors)
