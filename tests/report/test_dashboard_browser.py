"""The dashboard in a real browser: what a team lead sees, clicks and types. Screenshots in tests/artifacts/."""
from __future__ import annotations

from pathlib import Path

import pytest

from samtaleanalyse.report.dashboard import write_dashboard
from tests.browser import chromium, phone_chromium, requires_chromium, screenshot  # noqa: F401 (fixtures)
from tests.report.synthetic import synthetic_rows

pytestmark = requires_chromium
N_ROWS = 400


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dashboard")
    return write_dashboard(synthetic_rows(N_ROWS, days=24), out, language="en", generated_at="2026-12-01 06:00 UTC")


def _column(driver, table_id: str, col: int, *, visible_only: bool = True) -> list[str]:  # type: ignore[no-untyped-def]
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))"
        ".filter(r => !arguments[2] || !r.hidden)"
        ".map(r => r.cells[arguments[1]].getAttribute('data-sort'));", table_id, col, visible_only)


def _header(driver, table_id: str, label: str):  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    return next(th for th in driver.find_elements(By.CSS_SELECTOR, f"#{table_id} thead th") if th.text.startswith(label))


def test_dashboard_in_the_browser(chromium, report: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    driver = chromium
    driver.get(report.as_uri())
    assert driver.find_element(By.TAG_NAME, "h1").text == "Conversation quality"

    # Every chart is drawn and has a size on the page.
    charts = driver.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) == 7
    for chart in charts:
        assert chart.size["width"] > 100 and chart.size["height"] > 40, chart.get_attribute("outerHTML")[:200]
    # The coaching-point bars are links to the conversations behind them.
    assert driver.execute_script("return document.querySelectorAll('#coaching svg a').length") >= 5

    # Sorting: the teams come largest first; a click on "Mean score" sorts by it, a second click turns it round.
    teams_before = _column(driver, "teams-table", 0)
    n_before = [int(v) for v in _column(driver, "teams-table", 1)]
    assert n_before == sorted(n_before, reverse=True)
    header = _header(driver, "teams-table", "Mean score")
    header.find_element(By.TAG_NAME, "button").click()
    means = [float(v) for v in _column(driver, "teams-table", 2)]
    assert means == sorted(means, reverse=True) and header.get_attribute("aria-sort") == "descending"
    assert _column(driver, "teams-table", 0) != teams_before
    header.find_element(By.TAG_NAME, "button").click()
    means = [float(v) for v in _column(driver, "teams-table", 2)]
    assert means == sorted(means) and header.get_attribute("aria-sort") == "ascending"
    # A text column sorts alphabetically; rows without a value ("no complaints") go last either way.
    _header(driver, "agents-table", "Agent").find_element(By.TAG_NAME, "button").click()
    agents = _column(driver, "agents-table", 0)
    assert agents == sorted(agents)

    # Filtering: typing hides the rows that do not match, clearing brings them back.
    total = len(_column(driver, "agents-table", 0))
    box = driver.find_element(By.CSS_SELECTOR, "input[data-filter='agents-table']")
    assert box.is_displayed()
    box.send_keys("møbler")
    shown = driver.execute_script("return Array.from(document.querySelectorAll('#agents-table tbody tr'))"
                                  ".filter(r => !r.hidden).map(r => r.textContent)")
    assert 0 < len(shown) < total and all("Møbler" in text for text in shown)
    count = driver.find_element(By.CSS_SELECTOR, "#agents .count").text
    assert count == f"{len(shown)} of {total} rows"
    screenshot(driver, "dashboard-filtered", full_page=False)
    box.clear()
    box.send_keys(" ")  # an input event with an empty query
    assert len(_column(driver, "agents-table", 0)) == total

    # Links to the conversations' own reports, and every lead number leads to its list.
    reports = driver.find_elements(By.CSS_SELECTOR, "a[href^='feedback/']")
    assert len(reports) > 50
    value = driver.find_element(By.CSS_SELECTOR, "#card-2 .value a")
    value.click()
    assert driver.current_url.endswith("#b-in_order")
    assert driver.find_element(By.ID, "b-in_order").find_elements(By.CSS_SELECTOR, "a[href^='feedback/']")

    driver.execute_script("window.location.hash = ''; window.scrollTo(0, 0)")
    screenshot(driver, "dashboard-desktop")


def test_dashboard_on_a_phone(phone_chromium, report: Path) -> None:  # noqa: F811
    driver = phone_chromium
    # Headless Chromium keeps a window at least 500 pixels wide; the phone's width is emulated instead.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    driver.get(report.as_uri())
    # Nothing but the wide tables (which scroll inside their own box) is wider than the screen.
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
    widths = driver.execute_script("return Array.from(document.querySelectorAll('svg.chart'))"
                                   ".map(s => s.getBoundingClientRect().width)")
    assert widths and all(0 < w <= 390 for w in widths)
    screenshot(driver, "dashboard-phone", full_page=False)


def test_the_page_without_scripts_shows_every_row(chromium, report: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    driver = chromium
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    driver.get(report.as_uri())
    agents = {r.agent_id for r in synthetic_rows(N_ROWS, days=24)}
    rows = driver.find_elements(By.CSS_SELECTOR, "#agents-table tbody tr")
    assert len(rows) == len(agents) and all(r.get_attribute("hidden") is None for r in rows)
    # The charts need no script; the filter box, which would do nothing, stays hidden.
    assert all(c.size["height"] > 40 for c in driver.find_elements(By.CSS_SELECTOR, "svg.chart"))
    assert not driver.find_element(By.CSS_SELECTOR, "input[data-filter='agents-table']").is_displayed()
    assert not driver.find_elements(By.CSS_SELECTOR, "th button")
