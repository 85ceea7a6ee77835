"""The service's page in headless Chromium, as an agent or reviewer uses it: paste a Norwegian complaint with
the keyboard alone, submit, see the findings with the turn highlighted; upload a file; a wrong token; a phone.

Screenshots go to tests/artifacts/ (service-page-*.png).
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
import uvicorn  # noqa: E402

from samtaleanalyse.coaching.texts import load_texts  # noqa: E402
from samtaleanalyse.report.conversation import load_page_texts  # noqa: E402
from samtaleanalyse.service import ServiceSettings, create_app  # noqa: E402
from samtaleanalyse.service.page import form_texts  # noqa: E402
from tests.browser import PHONE, chromium, phone_chromium, requires_chromium, screenshot  # noqa: E402,F401
from tests.service.server import HOST, free_port  # noqa: E402
from tests.service.service_cases import DATA, TOKEN  # noqa: E402

pytestmark = requires_chromium

COMPLAINT = ("Kunde: Sofaen jeg bestilte kom med en stor flekk på setet, og jeg har ventet i tre uker. "
             "Dette er helt uakseptabelt!\n"
             "Agent: Du får et gavekort på 500 kroner.\n"
             "Kunde: Et gavekort? Jeg vil ha en sofa som ikke er ødelagt.\n"
             "Agent: Jeg forstår. Kan du sende meg et bilde av flekken, så ordner vi en ny sofa?\n")


@pytest.fixture(scope="module")
def base_url(service_engine):
    app = create_app(ServiceSettings(tokens=(TOKEN,), workers=2), service_engine)
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=free_port(), log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://{HOST}:{server.config.port}"
    server.should_exit = True
    thread.join(10)


def _emulate_phone(driver, height: int = PHONE[1]) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": PHONE[0], "height": height, "deviceScaleFactor": 1, "mobile": True})


def _active(driver):
    return driver.switch_to.active_element


def _press(driver, *keys) -> None:
    """Keys to whatever has the focus, as a person types them (a file input's send_keys would take a path)."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*keys).perform()


def _tab_to(driver, element_id: str, limit: int = 30):
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        if _active(driver).get_attribute("id") == element_id:
            return _active(driver)
        _press(driver, Keys.TAB)
    raise AssertionError(f"Tab never reached #{element_id}")


def _submitted(driver, action) -> None:
    """Run ``action`` (a click, a key) that posts the form, and wait until the answer's page has loaded: a mark
    set on the old document is gone, and the new one is complete (errors while the page changes are waited out)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.__beforeSubmit = true")
    action()
    WebDriverWait(driver, 30, poll_frequency=0.05, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return !window.__beforeSubmit && document.readyState === 'complete'"))


def _no_resource_from_elsewhere(driver, base_url: str) -> None:
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(u.startswith(base_url) for u in urls), urls
    assert driver.find_elements("css selector", "script, link[rel=stylesheet], img[src^=http]") == []


def test_paste_a_norwegian_complaint_with_the_keyboard_alone(chromium, base_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    chromium.get(f"{base_url}/?lang=nb")
    f = form_texts("nb")
    assert chromium.find_element(By.TAG_NAME, "h1").text == f["title"]
    assert chromium.find_element(By.CSS_SELECTOR, "label[for=transcript]").text == f["paste"]
    _no_resource_from_elsewhere(chromium, base_url)
    screenshot(chromium, "service-page-form-desktop")
    chromium.set_window_size(1280, 900)

    # Keyboard only: the first Tab reaches the skip link, the next ones the form's fields in reading order.
    _press(chromium, Keys.TAB)
    assert _active(chromium).get_attribute("class") == "skip"
    order = []
    for _ in range(7):
        _press(chromium, Keys.TAB)
        order.append(_active(chromium).get_attribute("id") or _active(chromium).tag_name)
    assert order == ["transcript", "file", "format", "feedback_language", "explain", "token", "button"]
    box = _tab_to(chromium, "transcript")
    for line in COMPLAINT.splitlines():
        _press(chromium, line, Keys.ENTER)
    language = _tab_to(chromium, "feedback_language")
    # A select is changed with the arrow keys; the visible choice is checked, not set by script.
    while Select(language).first_selected_option.get_attribute("value") != "nb":
        _press(chromium, Keys.ARROW_DOWN)
    _tab_to(chromium, "token")
    _submitted(chromium, lambda: _press(chromium, TOKEN, Keys.ENTER))  # Enter in a field submits the form
    assert box is not None

    texts, page = load_texts("nb"), load_page_texts("nb").page
    title = texts.findings["compensation_too_early"].title
    issues = chromium.find_elements(By.CSS_SELECTOR, "#issues article.finding")
    assert title in [a.find_element(By.TAG_NAME, "h3").text.lstrip("✓! ").strip() for a in issues]
    finding = next(a for a in issues if title in a.text)
    assert finding.is_displayed() and "gavekort" in finding.text  # the quoted turn
    # Its guidance is cited: why it matters, and the seed document it comes from.
    cite = finding.find_element(By.CSS_SELECTOR, ".cite")
    assert cite.text.startswith(page["why_source"]) and cite.find_element(By.CSS_SELECTOR, ".file").text.endswith(".txt)")
    assert finding.find_element(By.CSS_SELECTOR, ".why-title").text
    # The finding links to turn 2, where the voucher's words are highlighted as compensation.
    link = finding.find_element(By.CSS_SELECTOR, ".finding-meta a")
    assert link.get_attribute("hash") == "#turn-2"
    marks = chromium.find_elements(By.CSS_SELECTOR, "#turn-2 mark")
    assert any("compensation" in m.get_attribute("data-labels") and "gavekort" in m.text for m in marks)
    assert page["transcript"] in chromium.find_element(By.ID, "transcript-h").text
    assert chromium.find_element(By.CSS_SELECTOR, "html").get_attribute("lang") == "nb"
    # The form is folded away above the report, with what was pasted still in it.
    summary = chromium.find_element(By.CSS_SELECTOR, "details.analyse-again > summary")
    assert summary.text == form_texts("nb")["change"]
    assert "gavekort" in chromium.find_element(By.ID, "transcript").get_attribute("value")
    _no_resource_from_elsewhere(chromium, base_url)
    chromium.execute_script("window.scrollTo(0, 0)")
    screenshot(chromium, "service-page-result-desktop")
    # From the finding to the turn with the keyboard.
    chromium.set_window_size(1280, 900)
    link = chromium.find_element(By.CSS_SELECTOR, "#issues article.finding .finding-meta a[href='#turn-2']")
    link.send_keys(Keys.ENTER)
    assert chromium.execute_script("return location.hash") == "#turn-2"


def test_upload_a_file_with_english_feedback(chromium, base_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    chromium.get(f"{base_url}/?lang=en")
    chromium.find_element(By.ID, "file").send_keys(str(Path(DATA / "klage_gavekort.vtt").resolve()))
    Select(chromium.find_element(By.ID, "feedback_language")).select_by_value("en")
    chromium.find_element(By.ID, "token").send_keys(TOKEN)
    _submitted(chromium, chromium.find_element(By.CSS_SELECTOR, ".analyse-form button[type=submit]").click)
    texts = load_texts("en")
    heads = [h.text for h in chromium.find_elements(By.CSS_SELECTOR, "#issues article.finding h3")]
    assert any(texts.findings["compensation_too_early"].title in h for h in heads)
    assert chromium.find_element(By.CSS_SELECTOR, "html").get_attribute("lang") == "en"
    assert load_page_texts("en").page["transcript"] in chromium.find_element(By.ID, "transcript-h").text
    assert chromium.find_element(By.CSS_SELECTOR, "#turn-2 .time").text == "0:06"  # a call's times, read from VTT


def test_wrong_token_and_broken_input_are_said_in_the_page(chromium, base_url):
    from selenium.webdriver.common.by import By

    chromium.get(f"{base_url}/?lang=nb")
    chromium.find_element(By.ID, "transcript").send_keys(COMPLAINT)
    chromium.find_element(By.ID, "token").send_keys("feil-nøkkel-0123456789")
    _submitted(chromium, chromium.find_element(By.CSS_SELECTOR, ".analyse-form button[type=submit]").click)
    alert = chromium.find_element(By.CSS_SELECTOR, "[role=alert]")
    assert form_texts("nb")["bad_token"] in alert.text
    assert chromium.find_elements(By.CSS_SELECTOR, "article.finding") == []
    # The pasted text is kept for the next try; a line without a speaker is reported with its code.
    assert "gavekort" in chromium.find_element(By.ID, "transcript").get_attribute("value")
    box = chromium.find_element(By.ID, "transcript")
    box.clear()
    box.send_keys("Sjefen: Hei\nKunde: Hallo")
    chromium.find_element(By.ID, "token").send_keys(TOKEN)
    _submitted(chromium, chromium.find_element(By.CSS_SELECTOR, ".analyse-form button[type=submit]").click)
    alert = chromium.find_element(By.CSS_SELECTOR, "[role=alert]")
    assert "E305" in alert.text and "Sjefen" in alert.text
    screenshot(chromium, "service-page-error-desktop")


def test_phone_form_and_result_fit_390px(phone_chromium, base_url):
    from selenium.webdriver.common.by import By

    _emulate_phone(phone_chromium)
    phone_chromium.get(f"{base_url}/?lang=nb")
    for _ in range(2):
        width = phone_chromium.execute_script("return [document.documentElement.clientWidth, document.documentElement.scrollWidth]")
        assert width == [PHONE[0], PHONE[0]], width
        overflow = phone_chromium.execute_script("""
            return [...document.querySelectorAll('textarea, select, input, button, article, li.turn, mark')]
              .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
              .map(e => e.id || e.className || e.tagName);""")
        assert overflow == []
        font = phone_chromium.execute_script("return parseFloat(getComputedStyle(document.querySelector('textarea')).fontSize)")
        assert font >= 14
        if phone_chromium.find_elements(By.CSS_SELECTOR, "article.finding"):
            break
        screenshot(phone_chromium, "service-page-form-phone", full_page=False)
        phone_chromium.find_element(By.ID, "transcript").send_keys(COMPLAINT)
        phone_chromium.find_element(By.ID, "token").send_keys(TOKEN)
        _submitted(phone_chromium, phone_chromium.find_element(By.CSS_SELECTOR, ".analyse-form button[type=submit]").click)
    assert phone_chromium.find_elements(By.CSS_SELECTOR, "article.finding")
    height = phone_chromium.execute_script("return Math.min(document.documentElement.scrollHeight, 12000)")
    _emulate_phone(phone_chromium, height)
    screenshot(phone_chromium, "service-page-result-phone", full_page=False)
