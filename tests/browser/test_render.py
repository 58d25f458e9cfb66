"""Open the built book in headless Chromium and check that pages render as a reader sees them.

Run after `make book` (the Makefile's `browser` target does both). Screenshots are written to
tests/browser/artifacts/ for a human to look at.
"""

from __future__ import annotations

import base64
import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PAGES = {
    "index": ("book/index.html", "Mixed-effects models, executable"),
    "concepts": ("book/01_concepts.html", "Concepts: fixed and random effects"),
    "regression": ("book/02_regression.html", "Regression"),
    "hlm": ("book/03_hlm.html", "Multilevel linear models"),
    "building": ("book/03b_model_building.html", "Building, interpreting and reporting"),
    "df": ("book/04_degrees_of_freedom.html", "Degrees of freedom"),
    "anova": ("book/05_anova.html", "ANOVA as a special case"),
    "panel": ("book/06_panel.html", "Panel data"),
    "meta": ("book/07_meta_analysis.html", "Meta-analysis"),
    "glmm": ("book/08_glmm.html", "When the outcome is not normal"),
    "glossary": ("book/glossary.html", "Glossary"),
    "api": ("book/api.html", "mixedtools"),
}
CHAPTERS = ["concepts", "regression", "hlm", "building", "df", "anova", "panel", "meta", "glmm"]
# Chapter and figure numbers come from the numbered table of contents (Fig. 3.1, Fig. 3.2, ...).
CHAPTER_NUMBER = {
    "concepts": "1",
    "regression": "2",
    "hlm": "3",
    "building": "3",
    "df": "4",
    "anova": "5",
    "panel": "6",
    "meta": "7",
    "glmm": "8",
}
# Figures added in the second edition (issue 12) and later, by page: they must render with a number.
NEW_FIGURES = {
    "concepts": ["fig-type1"],
    "regression": ["fig-regression-sleep-diagnostics"],
    "glmm": ["fig-glmm-lpm", "fig-glmm-caterpillar", "fig-glmm-attenuation"],
    "panel": ["fig-panel-nickell"],
    "building": [
        "fig-sleep-spaghetti",
        "fig-sleep-trajectories",
        "fig-simple-slopes",
        "fig-caterpillar-slopes",
        "fig-shrinkage-factor",
        "fig-oxboys-mean-curves",
        "fig-sleep-piecewise",
    ],
    "anova": ["fig-anova-power"],
}
RAW_MARKUP = (":::", "```", "{exercise}", "{solution", "{numref}", "{cite", "$$")


@pytest.fixture(scope="module")
def server():
    if not (HTML / "book" / "index.html").exists():
        pytest.fail("The book is not built: run `make book` first.")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        pytest.fail("Debian's chromium and chromium-driver are needed (.ci/run installs them).")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _open(browser, url):
    browser.get(url)
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _full_page_screenshot(browser, path: Path) -> None:
    metrics = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders(server, browser, page):
    path, heading = PAGES[page]
    _open(browser, f"{server}/{path}")
    h1 = browser.find_element(By.CSS_SELECTOR, "article h1")
    assert heading in h1.text
    nav_links = browser.find_elements(By.CSS_SELECTOR, "nav.bd-docs-nav a.reference")
    assert any("Concepts" in a.get_attribute("textContent") for a in nav_links)
    # Every image must have loaded: a broken image has zero natural width.
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return Array.from(document.images).every(i => i.complete)")
    )
    broken = browser.execute_script(
        "return Array.from(document.images).filter(i => i.naturalWidth === 0).map(i => i.src)"
    )
    assert broken == []
    text = browser.find_element(By.CSS_SELECTOR, "article").text
    assert not [m for m in RAW_MARKUP if m in text]
    ARTIFACTS.mkdir(exist_ok=True)
    _full_page_screenshot(browser, ARTIFACTS / f"{page}.png")


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_math_figures_and_exercises(server, browser, page):
    _open(browser, f"{server}/{PAGES[page][0]}")
    # MathJax (served from the book itself, not a CDN) replaces TeX with mjx-container elements.
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.querySelectorAll('mjx-container').length") > 5
    )
    assert browser.execute_script("return typeof MathJax !== 'undefined' && !!MathJax.startup")
    figures = browser.find_elements(By.CSS_SELECTOR, "figure")
    assert len(figures) >= 3
    # textContent, not text: a figure inside a collapsed solution is hidden but must be numbered
    captions = [
        f.find_element(By.CSS_SELECTOR, "figcaption").get_attribute("textContent").strip()
        for f in figures
    ]
    assert all(c.startswith(f"Fig. {CHAPTER_NUMBER[page]}.") for c in captions), captions
    for name in NEW_FIGURES.get(page, []):
        (figure,) = browser.find_elements(By.CSS_SELECTOR, f"figure#{name}")
        assert figure.find_element(By.CSS_SELECTOR, "img").get_attribute("naturalWidth") != "0"
    # the Colab install cell is removed from the page; the code of plot-only cells is hidden
    assert "find_spec" not in browser.find_element(By.CSS_SELECTOR, "article").text
    sizes = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure img')).map(i => i.naturalWidth)"
    )
    assert len(sizes) >= 3 and min(sizes) > 300
    assert len(browser.find_elements(By.CSS_SELECTOR, "div.exercise")) >= 4
    assert len(browser.find_elements(By.CSS_SELECTOR, "details.solution, div.solution")) >= 4
    citations = browser.find_elements(By.CSS_SELECTOR, "a[href*='bibliography']")
    assert citations, "author-year citations should link to the bibliography"
    # Launch buttons (Binder, Colab) and the notebook download are on every chapter page.
    html = browser.page_source
    assert "mybinder.org" in html and "colab.research.google.com" in html
    assert ".ipynb" in html


def test_glossary_links_resolve(server, browser):
    _open(browser, f"{server}/{PAGES['glossary'][0]}")
    links = browser.find_elements(By.CSS_SELECTOR, "article table a.reference.internal")
    rows = browser.find_elements(By.CSS_SELECTOR, "article table tbody tr")
    assert len(links) == len(rows) >= 30
