"""The web page in headless Chromium against the real server: ask, read sources, switch language.

Needs the Debian packages ``chromium`` and ``chromium-driver`` (skipped without them) and
``selenium`` (dev extra). The server ingests the action plan (footnotes with links) and the
networks page into its own data dir, so the first start takes a minute on a small machine.
A screenshot of the answered question is saved to ``reports/screenshots/ask.png``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import upload
from tests.live_server import REPO, live_server

pytestmark = pytest.mark.browser

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p),
    None,
)
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip(
        "headless Chromium is not installed: apt-get install -y chromium chromium-driver",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402 - only once Chromium is known to be there
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

PLAN = "plan-action-integration-inclusion-2021-2027"
PLAN_TITLE = "Plan d’action en faveur de l’intégration et de l’inclusion pour la période 2021-2027"
NETWORKS = "reseaux-cooperation-ue-integration-migrants"
#: Answered from the action plan by a passage whose footnote 31 holds a link.
FOOTNOTE_QUESTION = "Où trouver les résultats de la consultation publique sur l’intégration ?"
SCREENSHOTS = REPO / "reports" / "screenshots"
#: Generous: waits end as soon as the page is ready; this only bounds a broken page.
WAIT_S = 120
API_KEY = "web-page-test-key"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("web-server")
    env = {"POLICYQA_API_KEYS": API_KEY}
    with live_server(workdir, [f"{PLAN}.txt", f"{NETWORKS}.txt"], env=env) as base:
        yield base


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--lang=fr-FR",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP violations land there
    # a driver path given explicitly: Selenium Manager (which would go online) is not used
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(browser: WebDriver, base_url: str) -> WebDriver:
    """A fresh page in French with its filters loaded."""
    browser.get(f"{base_url}/")
    browser.execute_script("window.localStorage.clear()")
    browser.get(f"{base_url}/")
    wait = WebDriverWait(browser, WAIT_S)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#document-filter option")) > 1)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#fund-filter option")) > 1)
    return browser


def ask(browser: WebDriver, question: str) -> None:
    """Type the question and press Enter; wait for passages or an error."""
    box = browser.find_element(By.ID, "question")
    box.clear()
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    try:
        WebDriverWait(browser, WAIT_S).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#output section, #error:not([hidden])")
        )
    except TimeoutException as exc:  # pragma: no cover - diagnostics for a broken page
        raise AssertionError(
            f"no result shown; status: {browser.find_element(By.ID, 'status').text!r}"
        ) from exc


def error_text(browser: WebDriver) -> str:
    box = browser.find_element(By.ID, "error")
    return box.text if box.is_displayed() else ""


def footnote_with_link(browser: WebDriver) -> WebElement:
    for details in browser.find_elements(By.CSS_SELECTOR, ".passage details.footnote"):
        if details.find_elements(By.CSS_SELECTOR, "a[href^='http']"):
            return details
    raise AssertionError("no footnote with a link among the cited passages")


def full_page_screenshot(browser: WebDriver, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    browser.execute_script("window.scrollTo(0, 0)")
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(int(height) + 100, 6000))
    browser.save_screenshot(str(path))
    browser.set_window_size(1280, 1000)


def test_question_shows_answer_sources_and_footnote_links(browser: WebDriver, base_url: str):
    page = open_page(browser, base_url)
    assert page.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert page.find_element(By.CSS_SELECTOR, "label[for='question']").text == "Votre question"
    titles = [o.text for o in page.find_elements(By.CSS_SELECTOR, "#document-filter option")]
    assert PLAN_TITLE in titles

    ask(page, FOOTNOTE_QUESTION)
    assert not error_text(page)
    assert page.find_element(By.ID, "answer-heading").text == "Réponse"
    assert page.find_element(By.CSS_SELECTOR, ".answer-text").text.strip()

    # a marker of the answer leads to its passage, which shows title and section
    marker = page.find_element(By.CSS_SELECTOR, ".answer-text a.marker")
    target_id = marker.get_attribute("href").rsplit("#", 1)[1]
    marker.click()
    WebDriverWait(page, WAIT_S).until(
        lambda d: d.execute_script("return document.activeElement.id") == target_id
    )
    passage = page.find_element(By.ID, target_id)
    assert PLAN_TITLE in passage.find_element(By.TAG_NAME, "h3").text
    assert passage.find_element(By.CSS_SELECTOR, ".meta .section").text.strip()

    # a footnote unfolds and holds a link opening in a new tab
    details = footnote_with_link(page)
    link = details.find_element(By.CSS_SELECTOR, "a[href^='http']")
    assert not link.is_displayed()
    details.find_element(By.TAG_NAME, "summary").click()
    assert link.is_displayed()
    assert link.get_attribute("target") == "_blank"
    assert "noopener" in link.get_attribute("rel")

    full_page_screenshot(page, SCREENSHOTS / "ask.png")


def test_copy_button_copies_a_formatted_citation(browser: WebDriver, base_url: str):
    page = open_page(browser, base_url)
    ask(page, FOOTNOTE_QUESTION)
    # watch what goes to the clipboard, still calling the real one (the page falls back to
    # execCommand when it is refused)
    page.execute_script(
        """const clip = navigator.clipboard;
        const write = clip.writeText.bind(clip);
        clip.writeText = (text) => { window.copiedText = text; return write(text); };"""
    )
    details = footnote_with_link(page)
    passage = details.find_element(By.XPATH, "ancestor::article")
    passage.find_element(By.CSS_SELECTOR, "button.copy").click()
    WebDriverWait(page, WAIT_S).until(
        lambda d: d.find_element(By.ID, "announcer").get_attribute("textContent") == "Citation copiée"
    )
    copied = page.execute_script("return window.copiedText")
    assert PLAN_TITLE in copied
    section = page.execute_script(
        "return arguments[0].querySelector('.meta .section').lastChild.textContent", passage
    )
    assert section.replace(" › ", " > ") in copied
    assert "Notes :" in copied and "https://" in copied


def test_english_switch_translates_and_is_remembered(browser: WebDriver, base_url: str):
    page = open_page(browser, base_url)
    ask(page, "Quel est le rôle du réseau européen d’intégration ?")
    assert page.find_element(By.ID, "passages-heading").text == "Passages cités"

    page.find_element(By.ID, "lang-toggle").click()
    assert page.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert page.find_element(By.CSS_SELECTOR, "label[for='question']").text == "Your question"
    assert page.find_element(By.ID, "passages-heading").text == "Cited passages"  # results redrawn
    assert page.find_element(By.ID, "lang-toggle").text == "Français"
    full_page_screenshot(page, SCREENSHOTS / "ask-en.png")

    page.refresh()
    WebDriverWait(page, WAIT_S).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "label[for='question']").text == "Your question"
    )
    page.execute_script("window.localStorage.clear()")


def test_unanswerable_question_shows_the_api_message(browser: WebDriver, base_url: str):
    page = open_page(browser, base_url)
    ask(page, "Quelle part de l’électricité française provient du nucléaire ?")
    notice = page.find_element(By.CSS_SELECTOR, ".no-answer")
    assert "pas trouvé de réponse" in notice.text
    assert page.find_element(By.ID, "passages-heading").text == "Passages les plus proches"


def test_invalid_question_shows_the_api_error(browser: WebDriver, base_url: str):
    page = open_page(browser, base_url)
    ask(page, "?!")
    message = error_text(page)
    assert "no letters or digits" in message  # the API's own JSON error, shown as is
    assert not page.find_elements(By.CSS_SELECTOR, "#output section")


def test_document_text_is_shown_as_text_never_run(browser: WebDriver, base_url: str):
    hostile = (
        "Note sur les apatrides lunaires\n\n"
        'Le fonds <img src=x onerror="window.injected=1"> <script>window.injected=2</script> '
        "soutient l’intégration des apatrides lunaires depuis 2031.\n"
    )
    with httpx.Client(base_url=base_url, timeout=WAIT_S) as client:
        status, added = upload(
            client, "apatrides-lunaires.txt", hostile.encode(), headers={"X-API-Key": API_KEY}
        )
    assert status == 200, added
    page = open_page(browser, base_url)
    Select(page.find_element(By.ID, "document-filter")).select_by_value(added["doc_id"])
    ask(page, "Qui soutient l’intégration des apatrides lunaires ?")
    assert not error_text(page)
    shown = page.find_element(By.CSS_SELECTOR, "#passage-1 .passage-text").text
    assert "<img src=x" in shown and "<script>" in shown
    assert page.execute_script("return window.injected") is None
    assert not page.find_elements(By.CSS_SELECTOR, "#output img, #output script")


def policy_violations(browser: WebDriver) -> list[str]:
    """Console messages of the page since the last call that say the CSP blocked something."""
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]
    ]


def test_the_page_runs_under_its_content_security_policy(browser: WebDriver, base_url: str):
    policy_violations(browser)  # forget earlier pages
    page = open_page(browser, base_url)
    ask(page, "Quel est le rôle du réseau européen d’intégration ?")
    assert page.find_elements(By.CSS_SELECTOR, "#output section")
    csp = httpx.get(f"{base_url}/", timeout=WAIT_S).headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert policy_violations(page) == []


def test_api_docs_render_offline_under_their_policy(browser: WebDriver, base_url: str):
    """Swagger UI comes from this server (the fastapi-offline package), not from a CDN."""
    policy_violations(browser)
    browser.get(f"{base_url}/docs")
    wait = WebDriverWait(browser, WAIT_S)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .info .title"))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"))
    paths = {
        e.text.replace("\u200b", "") for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    }
    assert {"/ask", "/search", "/documents", "/jobs/{job_id}"} <= paths
    assert "policy-qa" in browser.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title").text
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })"
    )
    assert loaded and all(url.startswith(base_url) for url in loaded), loaded
    assert policy_violations(browser) == []


@pytest.fixture(scope="module")
def closed_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose reads need a key (POLICYQA_READ_REQUIRES_KEY)."""
    workdir = tmp_path_factory.mktemp("closed-server")
    env = {"POLICYQA_API_KEYS": API_KEY, "POLICYQA_READ_REQUIRES_KEY": "true"}
    with live_server(workdir, [f"{NETWORKS}.txt"], env=env, ready_headers={"X-API-Key": API_KEY}) as base:
        yield base


def test_the_page_asks_for_a_key_when_reads_need_one(browser: WebDriver, closed_base_url: str):
    browser.get(f"{closed_base_url}/")
    browser.execute_script("window.sessionStorage.clear(); window.localStorage.clear()")
    browser.get(f"{closed_base_url}/")
    wait = WebDriverWait(browser, WAIT_S)
    key_box = browser.find_element(By.ID, "api-key")
    wait.until(lambda d: key_box.is_displayed())  # the filters' requests got 401
    assert browser.execute_script("return document.activeElement.id") == "api-key"
    key_box.send_keys("wrong-key", Keys.ENTER)
    wait.until(lambda d: d.find_element(By.ID, "key-form").is_displayed())
    wait.until(lambda d: "pas acceptée" in d.find_element(By.ID, "key-hint").text)
    key_box.send_keys(API_KEY, Keys.ENTER)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#document-filter option")) > 1)
    assert not browser.find_element(By.ID, "key-form").is_displayed()
    assert browser.execute_script("return window.sessionStorage.getItem('policyqa.apiKey')") == API_KEY
    assert browser.execute_script("return window.localStorage.getItem('policyqa.apiKey')") is None
    ask(browser, "Quel est le rôle du réseau européen d’intégration ?")
    assert not error_text(browser) and browser.find_elements(By.CSS_SELECTOR, "#output section")
    # the key stays for the tab: a reload needs no typing
    browser.refresh()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#document-filter option")) > 1)
    assert not browser.find_element(By.ID, "key-form").is_displayed()
    browser.execute_script("window.sessionStorage.clear()")
