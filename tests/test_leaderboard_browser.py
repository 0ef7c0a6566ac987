"""The leaderboard site in a real headless browser (Debian's chromium, driven by Selenium): sorting, escaping,
figures. ``.ci/run`` installs chromium and chromium-driver; without them these tests skip and say so."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lifebot.leaderboard.build import build_site
from lifebot.submission.make import make_submission, write_submission
from tests.test_submission import fake_run

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does)",
)
EVIL = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
METHODS = {"sequential": (1, "sequential"), EVIL: (2, "sequential"), "replay": (3, "er")}


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install -e '.[dev]')")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=webdriver.ChromeService(DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("board")
    for i, (method, (seed, strategy)) in enumerate(METHODS.items()):
        document = make_submission(fake_run(root / f"run{i}", seed=seed, strategy=strategy), method, "a test entry")
        write_submission(document, root / "submissions" / f"{i}.json")
    return build_site(root / "submissions", root / "site").index


def column(driver, index: int) -> list[str]:
    return [row.find_elements("tag name", "td")[index].text for row in driver.find_elements("css selector", "tbody tr")]


def test_clicking_a_header_sorts_the_table(browser, site):
    browser.get(site.as_uri())
    headers = [h.text.rstrip(" ▲▼") for h in browser.find_elements("css selector", "thead th")]
    methods, acc, forgetting = 0, headers.index("gem_acc"), headers.index("forgetting")

    def means(index: int) -> list[float]:
        return [float(text.split()[0]) for text in column(browser, index)]

    assert means(acc) == sorted(means(acc), reverse=True)  # ranked by ACC to start with
    before = column(browser, methods)
    browser.find_elements("css selector", "thead th")[acc].click()
    assert means(acc) == sorted(means(acc)) and column(browser, methods) == before[::-1]
    browser.find_elements("css selector", "thead th")[forgetting].click()
    assert means(forgetting) == sorted(means(forgetting), reverse=True)
    browser.find_elements("css selector", "thead th")[methods].click()
    assert column(browser, methods) == sorted(column(browser, methods))
    assert browser.find_elements("css selector", "thead th")[methods].get_attribute("aria-sort") == "ascending"


def test_names_are_shown_as_text_and_run_nothing(browser, site, tmp_path):
    browser.get(site.as_uri())
    assert EVIL in column(browser, 0)
    assert browser.execute_script("return window.pwned === undefined && document.scripts.length === 1")
    browser.find_element("link text", EVIL).click()
    assert browser.find_element("tag name", "h1").text == EVIL
    assert browser.execute_script("return window.pwned === undefined && document.scripts.length === 0")
    widths = browser.execute_script("return Array.from(document.images).map(i => i.complete && i.naturalWidth)")
    assert len(widths) == 2 and all(w > 100 for w in widths)  # the heatmaps and the curves
    assert browser.save_screenshot(str(tmp_path / "submission.png"))
