"""Headless Chromium for tests that check what a person sees in a report or page.

`make test` installs Debian's `chromium` and `chromium-driver`; elsewhere the browser tests are
skipped with a reason (never silently passed). Screenshots go to ``tests/artifacts/`` (git-ignored)
so that a developer can look at them after a run.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE = (390, 844)
DESKTOP = (1280, 900)


def _binaries() -> tuple[str, str] | None:
    browser = os.environ.get("SAMTALEANALYSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = os.environ.get("SAMTALEANALYSE_CHROMEDRIVER") or shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


requires_chromium = pytest.mark.skipif(_binaries() is None,
                                       reason="Chromium and chromedriver are not installed (`make test` installs them)")


def start_chromium(size: tuple[int, int] = DESKTOP):  # type: ignore[no-untyped-def]
    """A headless Chromium WebDriver of the given window size; the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = _binaries()
    if found is None:
        pytest.skip("Chromium and chromedriver are not installed")
    browser, driver = found
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={size[0]},{size[1]}", "--hide-scrollbars", "--lang=en"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=opts)


@pytest.fixture()
def chromium() -> Iterator[object]:
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture()
def phone_chromium() -> Iterator[object]:
    driver = start_chromium(PHONE)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver, name: str, *, full_page: bool = True) -> Path:  # type: ignore[no-untyped-def]
    """Save a PNG of the page (the whole page height when ``full_page``) under tests/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if full_page:
        width = driver.execute_script("return document.documentElement.clientWidth")
        height = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 12000)")
        driver.set_window_size(max(width, 320), max(height, 200))
    driver.save_screenshot(str(path))
    return path
