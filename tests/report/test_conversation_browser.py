"""The conversation report as a person sees it in Chromium: on a PC (with keyboard and print), and on a 390 px phone.

Screenshots go to tests/artifacts/ (conversation-report-desktop.png, conversation-report-phone.png).
"""
from __future__ import annotations

import pytest

from samtaleanalyse.coaching.texts import load_texts
from samtaleanalyse.report.conversation import load_page_texts, render_conversation_html
from tests.browser import ARTIFACTS, PHONE, chromium, phone_chromium, requires_chromium, screenshot  # noqa: F401
from tests.report.conversation_records import build_record, load_cases

pytestmark = requires_chromium


@pytest.fixture()
def report(tmp_path):
    rec = build_record(load_cases()["nb"])
    path = tmp_path / "nb-rapport-1.html"
    path.write_text(render_conversation_html(rec), encoding="utf-8")
    return rec, path.as_uri()


def _emulate_phone(driver, height: int = PHONE[1]) -> None:
    # Headless Chromium will not make a window narrower than 500 px, so the phone's viewport is emulated.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": PHONE[0], "height": height, "deviceScaleFactor": 1, "mobile": True})


def _visible(driver, element) -> bool:
    rect = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", element)
    return element.is_displayed() and rect[0] > 0 and rect[1] > 0


def test_desktop_shows_findings_highlights_and_attitudes(chromium, report):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    rec, url = report
    chromium.get(url)
    texts, page = load_texts("nb"), load_page_texts("nb").page
    findings = chromium.find_elements(By.CSS_SELECTOR, "article.finding")
    assert len(findings) == len(rec["findings"]) and all(_visible(chromium, f) for f in findings)
    assert [f.find_element(By.TAG_NAME, "h3").text.lstrip("✓! ").strip() for f in findings] == [f["title"] for f in rec["findings"]]
    marks = chromium.find_elements(By.TAG_NAME, "mark")
    assert len(marks) >= 5 and all(_visible(chromium, m) for m in marks)
    assert "beklager" in [m.text for m in marks]
    # The highlight is a colour a reader sees, not the transparent default of an unstyled page.
    colour = chromium.execute_script("return getComputedStyle(arguments[0]).backgroundColor", marks[0])
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent")
    body = chromium.find_element(By.TAG_NAME, "body").text
    for t in rec["turns"]:
        if t.get("attitude"):
            assert page["attitude_tag"].format(attitude=texts.attitudes[t["attitude"]]) in body
    assert page["uncertain"] in body
    screenshot(chromium, "conversation-report-desktop")

    # Keyboard: the first Tab reaches the skip link, and Enter jumps to the content.
    chromium.execute_script("window.scrollTo(0, 0)")
    chromium.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    active = chromium.switch_to.active_element
    assert active.get_attribute("class") == "skip" and active.is_displayed()
    active.send_keys(Keys.ENTER)
    assert chromium.execute_script("return location.hash") == "#main"
    # A finding's turn link takes the reader to the turn.
    link = findings[-1].find_element(By.CSS_SELECTOR, ".finding-meta a")
    link.click()
    target = chromium.execute_script("return location.hash")
    assert target == link.get_attribute("hash") and chromium.find_element(By.CSS_SELECTOR, target).is_displayed()

    # Print: no navigation on paper, and the highlights keep their colour.
    chromium.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not chromium.find_element(By.CSS_SELECTOR, "nav.contents").is_displayed()
    assert chromium.execute_script("return getComputedStyle(document.querySelector('mark')).printColorAdjust") == "exact"


def test_phone_fits_390px_without_horizontal_scrolling(phone_chromium, report):
    from selenium.webdriver.common.by import By

    rec, url = report
    _emulate_phone(phone_chromium)
    phone_chromium.get(url)
    width = phone_chromium.execute_script("return [document.documentElement.clientWidth, document.documentElement.scrollWidth]")
    assert width == [PHONE[0], PHONE[0]], width
    # Nothing sticks out to the right: every finding, turn and highlight lies within the screen.
    overflow = phone_chromium.execute_script("""
        return [...document.querySelectorAll('article, li.turn, mark, .ev-tag, table, .tag')]
          .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
          .map(e => e.className || e.tagName);""")
    assert overflow == []
    assert all(_visible(phone_chromium, f) for f in phone_chromium.find_elements(By.CSS_SELECTOR, "article.finding"))
    font = phone_chromium.execute_script("return parseFloat(getComputedStyle(document.querySelector('.turn-text')).fontSize)")
    assert font >= 16  # readable without zooming
    height = phone_chromium.execute_script("return Math.min(document.documentElement.scrollHeight, 12000)")
    _emulate_phone(phone_chromium, height)
    screenshot(phone_chromium, "conversation-report-phone", full_page=False)
    assert (ARTIFACTS / "conversation-report-phone.png").stat().st_size > 10_000
