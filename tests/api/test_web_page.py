"""The web page in headless Chromium against the real server (issue #18's page).

Ask, read the highlighted sources, preview a source from its [n] marker, copy the answer or one
source, open a fund named by the answer, a no-answer, a phone-sized window, errors and their
retry, the question in the address, the history, feedback, the language switch and the page's
Content-Security-Policy; an axe-core scan (the copy bundled by ``axe-selenium-python``, never
a CDN) on the answered state, the no-answer state and the phone-sized window.

Needs the Debian packages ``chromium`` and ``chromium-driver`` (skipped without them),
``selenium`` and ``axe-selenium-python`` (dev extra). The server ingests the action plan
(footnotes with links) and the networks page into its own data dir, so the first start takes a
minute on a small machine. Screenshots are saved under ``reports/screenshots/``. No assertion
is timed: every wait is a WebDriverWait for a condition, with a generous bound.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

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
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

PLAN = "plan-action-integration-inclusion-2021-2027"
PLAN_TITLE = "Plan d’action en faveur de l’intégration et de l’inclusion pour la période 2021-2027"
NETWORKS = "reseaux-cooperation-ue-integration-migrants"
NETWORKS_TITLE = "Les réseaux de coopération de l’UE pour l’intégration des migrants"
#: Answered from the action plan by a passage whose footnote 31 holds a link.
FOOTNOTE_QUESTION = "Où trouver les résultats de la consultation publique sur l’intégration ?"
#: A "which funds" question: the response names funds (its ``funds`` list).
FUNDS_QUESTION = "Quels fonds européens soutiennent l’intégration des migrants ?"
NETWORK_QUESTION = "Quel est le rôle du réseau européen d’intégration ?"
UNANSWERABLE = "Quelle part de l’électricité française provient du nucléaire ?"
#: The API's limit on a question (qa/questions.py).
MAX_QUESTION_CHARS = 2000
SCREENSHOTS = REPO / "reports" / "screenshots"
#: Generous: waits end as soon as the page is ready; this only bounds a broken page.
WAIT_S = 120
API_KEY = "web-page-test-key"
#: axe-core as bundled by axe-selenium-python: loaded from the installed package.
AXE_JS = None
try:
    import axe_selenium_python

    AXE_JS = Path(axe_selenium_python.__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
except ImportError:  # pragma: no cover - dev extra not installed
    pass

FRENCH_MONTHS = [
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
]  # fmt: skip


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("web-server")
    env = {"POLICYQA_API_KEYS": API_KEY}
    # the whole corpus: the PDF of the action plan gives its text passages their pages
    # (sources.json: alternate_of)
    with live_server(workdir, None, env=env) as base:
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
    # scrolls jump rather than glide (the page follows prefers-reduced-motion): a pointer put on
    # a marker stays on it
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]}
    )
    try:
        yield driver
    finally:
        driver.quit()


# ---------------------------------------------------------------------------- helpers


def api_ask(base_url: str, question: str, **extra: Any) -> dict:
    """What the page got for the same question (the index does not change between the two)."""
    r = httpx.post(f"{base_url}/ask", json={"question": question, **extra}, timeout=WAIT_S)
    assert r.status_code == 200, r.text
    return r.json()


def squash(text: str) -> str:
    """Spaces of any kind (French numbers have narrow no-break ones) as one plain space."""
    return re.sub(r"\s+", " ", text).strip()


def visible_text(browser: WebDriver, element: WebElement) -> str:
    """The text as seen, less what is there for screen readers only."""
    return browser.execute_script(
        """const copy = arguments[0].cloneNode(true);
        copy.querySelectorAll('.visually-hidden').forEach((n) => n.remove());
        return copy.textContent.replace(/\\s+/g, ' ').trim();""",
        element,
    )


def french_date(iso: str) -> str:
    year, month, day = (int(x) for x in iso[:10].split("-"))
    return f"{day} {FRENCH_MONTHS[month - 1]} {year}"


def wait(browser: WebDriver) -> WebDriverWait:
    return WebDriverWait(browser, WAIT_S)


def open_page(browser: WebDriver, base_url: str, query: str = "") -> WebDriver:
    """A fresh page in French, no history, with its filters loaded."""
    browser.get(f"{base_url}/")
    browser.execute_script("window.localStorage.clear()")
    browser.get(f"{base_url}/{query}")
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#document-filter option")) > 1)
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#fund-filter option")) > 1)
    return browser


def wait_result(browser: WebDriver, previous: WebElement | None = None) -> None:
    """Until a result (answer, no-answer or error) is drawn, replacing ``previous`` if given."""

    def drawn(d: WebDriver) -> bool:
        if previous is not None:
            try:
                previous.tag_name  # noqa: B018 - raises once the old result is gone
                return False
            except StaleElementReferenceException:
                pass
        if d.find_element(By.ID, "results").get_attribute("aria-busy") != "false":
            return False
        return bool(d.find_elements(By.CSS_SELECTOR, "#output section, #error:not([hidden])"))

    try:
        wait(browser).until(drawn)
    except TimeoutException as exc:  # pragma: no cover - diagnostics for a broken page
        raise AssertionError(
            f"no result shown; status: {browser.find_element(By.ID, 'status').text!r}"
        ) from exc


def current_result(browser: WebDriver) -> WebElement | None:
    found = browser.find_elements(By.CSS_SELECTOR, "#output > section, #output > div")
    return found[0] if found else None


def ask(browser: WebDriver, question: str) -> None:
    """Type the question and press Enter; wait for its result."""
    previous = current_result(browser)
    box = browser.find_element(By.ID, "question")
    box.clear()
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    wait_result(browser, previous)


def error_text(browser: WebDriver) -> str:
    box = browser.find_element(By.ID, "error")
    return box.text if box.is_displayed() else ""


def active_id(browser: WebDriver) -> str:
    return browser.execute_script("return document.activeElement && document.activeElement.id")


def watch_clipboard(browser: WebDriver) -> None:
    """Record what goes to the clipboard, still calling the real one (the page falls back to
    execCommand when it is refused)."""
    browser.execute_script(
        """window.copiedText = null;
        const clip = navigator.clipboard;
        const write = clip.writeText.bind(clip);
        clip.writeText = (text) => { window.copiedText = text; return write(text); };"""
    )


def fake_ask_failures(browser: WebDriver, status: int, times: int, headers: dict[str, str]) -> None:
    """The page's next ``times`` POST /ask get ``status`` (the service itself is left alone:
    there is no test route in the product). ``window.askCalls`` counts the page's asks."""
    browser.execute_script(
        """const [status, times, headers] = arguments;
        window.askCalls = 0;
        const realFetch = window.fetch.bind(window);
        window.fetch = function (input, init) {
          if (String(input).endsWith("ask")) {
            window.askCalls += 1;
            if (window.askCalls <= times) {
              const body = JSON.stringify({error: "Injected failure " + status, detail: null});
              const all = Object.assign({"Content-Type": "application/json"}, headers);
              return Promise.resolve(new Response(body, {status: status, headers: all}));
            }
          }
          return realFetch(input, init);
        };""",
        status,
        times,
        headers,
    )


def footnote_with_link(browser: WebDriver) -> WebElement:
    for details in browser.find_elements(By.CSS_SELECTOR, ".passage details.footnote"):
        if details.find_elements(By.CSS_SELECTOR, "a[href^='http']"):
            return details
    raise AssertionError("no footnote with a link among the passages")


def card_of(browser: WebDriver, marker: int) -> WebElement:
    """The card showing passage ``marker``: its own, or the passage calling it (a footnote)."""
    target = browser.find_element(By.ID, f"passage-{marker}")
    return target if target.tag_name == "article" else target.find_element(By.XPATH, "ancestor::article")


def full_page_screenshot(browser: WebDriver, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    browser.execute_script("window.scrollTo(0, 0)")
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(int(height) + 100, 6000))
    browser.save_screenshot(str(path))
    browser.set_window_size(1280, 1000)


def screenshot(browser: WebDriver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / name))


def assert_accessible(browser: WebDriver, what: str) -> None:
    """axe-core finds no violation on the page as it is."""
    if AXE_JS is None or not AXE_JS.is_file():
        pytest.fail("axe-core is missing: pip install -e '.[dev]' (axe-selenium-python)")
    if not browser.execute_script("return typeof window.axe === 'object'"):
        browser.execute_script(AXE_JS.read_text(encoding="utf-8"))
    results = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then((r) => done(r.violations), (e) => done([{id: 'axe-error', help: String(e)}]));"
    )
    report = [
        {"id": v["id"], "help": v.get("help"), "nodes": [n.get("target") for n in v.get("nodes", [])][:5]}
        for v in results
    ]
    assert report == [], f"axe-core violations on {what}:\n{json.dumps(report, indent=1, ensure_ascii=False)}"


def policy_violations(browser: WebDriver) -> list[str]:
    """Console messages of the page since the last call that say the CSP blocked something."""
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]
    ]


def hosted_footnotes(response: dict) -> dict[int, int]:
    """Footnote passages the page shows inside the passage calling them: marker -> host."""
    hosts = {}
    for note in response["passages"]:
        if note["kind"] != "footnote":
            continue
        for host in response["passages"]:
            if host["kind"] == "footnote" or host["citation"]["doc_id"] != note["citation"]["doc_id"]:
                continue
            if any(squash(f["text"]) == squash(note["text"]) for f in host["footnotes"]):
                hosts[note["marker"]] = host["marker"]
                break
    return hosts


# ---------------------------------------------------------------------------- asking and sources


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

    # the sources of the answer apart from the other passages, each heading with its count
    heading = page.find_element(By.ID, "sources-heading").text
    cards = page.find_elements(By.CSS_SELECTOR, "#sources-section article.passage")
    assert heading == f"Sources de la réponse ({len(cards)})" and cards
    others = page.find_elements(By.CSS_SELECTOR, "#others-section article.passage")
    if others:
        assert (
            page.find_element(By.ID, "others-heading").text == f"Autres passages pertinents ({len(others)})"
        )

    # a marker of the answer leads to its source, which shows title and section
    marker = page.find_element(By.CSS_SELECTOR, ".answer-text a.marker")
    target_id = marker.get_attribute("href").rsplit("#", 1)[1]
    marker.click()
    wait(page).until(lambda d: active_id(d) == target_id)
    card = card_of(page, int(target_id.split("-")[1]))
    assert PLAN_TITLE in card.find_element(By.TAG_NAME, "h3").text
    assert card.find_element(By.CSS_SELECTOR, ".meta .section").text.strip()
    assert "#" + target_id in page.current_url and "q=" in page.current_url

    # a footnote folds and unfolds and holds a link opening in a new tab
    details = footnote_with_link(page)
    link = details.find_element(By.CSS_SELECTOR, "a[href^='http']")
    if link.is_displayed():  # the footnote holding the answer's sentence comes open
        details.find_element(By.TAG_NAME, "summary").click()
        wait(page).until(lambda d: not link.is_displayed())
    details.find_element(By.TAG_NAME, "summary").click()
    assert link.is_displayed()
    assert link.get_attribute("target") == "_blank"
    assert "noopener" in link.get_attribute("rel")

    assert_accessible(page, "the answered state")
    full_page_screenshot(page, SCREENSHOTS / "ask.png")


def test_sources_show_their_citation_and_a_footnote_once(browser: WebDriver, base_url: str):
    response = api_ask(base_url, FUNDS_QUESTION)
    page = open_page(browser, base_url)
    ask(page, FUNDS_QUESTION)
    hosts = hosted_footnotes(response)
    for passage in response["passages"]:
        n = passage["marker"]
        if n in hosts:
            # shown once, where it is called: inside its host's footnotes, not as a card
            assert not page.find_elements(By.CSS_SELECTOR, f"article#passage-{n}")
            note = page.find_element(By.ID, f"passage-{n}")
            assert note.tag_name == "details"
            assert (
                note.find_element(By.XPATH, "ancestor::article").get_attribute("id") == f"passage-{hosts[n]}"
            )
            continue
        card = page.find_element(By.CSS_SELECTOR, f"article#passage-{n}")
        c = passage["citation"]
        meta = card.find_element(By.CSS_SELECTOR, ".meta").text
        assert c["title"] in card.find_element(By.TAG_NAME, "h3").text
        if c.get("reference"):
            assert c["reference"] in meta
        if c.get("date"):
            assert french_date(c["date"]) in meta
        if c.get("page_start") is not None:
            assert f"p. {c['page_start']}" in meta
        if c.get("source_url"):
            assert card.find_element(By.CSS_SELECTOR, "a.original").get_attribute("href") == c["source_url"]
    # each footnote number appears once in a document's passages
    for doc in {p["citation"]["doc_id"] for p in response["passages"]}:
        numbers = page.execute_script(
            """return [...document.querySelectorAll('#output article.passage')]
                 .filter((a) => a.querySelector('h3').textContent.includes(arguments[0]))
                 .flatMap((a) => [...a.querySelectorAll('.footnote-number')].map((n) => n.textContent));""",
            next(p["citation"]["title"] for p in response["passages"] if p["citation"]["doc_id"] == doc),
        )
        assert len(numbers) == len(set(numbers)), numbers
    shown = len(response["passages"]) - len(hosts)
    sources = len(page.find_elements(By.CSS_SELECTOR, "#sources-section article.passage"))
    others = len(page.find_elements(By.CSS_SELECTOR, "#others-section article.passage"))
    assert sources + others == shown


def test_answer_sentences_are_highlighted_in_their_source(browser: WebDriver, base_url: str):
    response = api_ask(base_url, FUNDS_QUESTION)
    assert response["answerable"] and response["sentences"]
    page = open_page(browser, base_url)
    ask(page, FUNDS_QUESTION)
    for sentence in response["sentences"]:
        n = sentence["markers"][0]
        target = page.find_element(By.ID, f"passage-{n}")
        marks = target.find_elements(By.CSS_SELECTOR, "mark.hl")
        assert marks, f"no highlight in source [{n}]"
        shown = squash(" ".join(m.get_attribute("textContent") for m in marks))
        assert squash(sentence["text"]) in shown
        if sentence.get("start") is not None:
            passage = next(p for p in response["passages"] if p["marker"] == n)
            assert squash(passage["text"][sentence["start"] : sentence["end"]]) in shown
    # the highlight is an element of its own, the text around it untouched
    assert (
        page.execute_script(
            "return document.querySelectorAll('#output mark.hl script, #output mark.hl img').length"
        )
        == 0
    )


def test_a_marker_previews_its_source_without_leaving_the_answer(browser: WebDriver, base_url: str):
    policy_violations(browser)
    response = api_ask(base_url, FUNDS_QUESTION)
    page = open_page(browser, base_url)
    ask(page, FUNDS_QUESTION)
    url = page.current_url
    marker = page.find_element(By.CSS_SELECTOR, ".answer-text a.marker")
    n = int(marker.get_attribute("data-marker"))
    tip_id = marker.get_attribute("aria-describedby")
    assert tip_id == f"preview-{n}"
    tip = page.find_element(By.ID, tip_id)
    assert tip.get_attribute("role") == "tooltip"
    assert not tip.is_displayed()
    passage = next(p for p in response["passages"] if p["marker"] == n)

    # the pointer over the marker shows the source's title and the sentence in it
    ActionChains(page).move_to_element(marker).perform()
    wait(page).until(lambda d: tip.is_displayed())
    assert passage["citation"]["title"] in tip.text
    assert tip.find_elements(By.CSS_SELECTOR, "mark.hl")
    screenshot(page, "preview.png")
    # Escape closes it
    ActionChains(page).send_keys(Keys.ESCAPE).perform()
    wait(page).until(lambda d: not tip.is_displayed())

    # the keyboard: focusing the marker shows it, Escape closes it and the focus stays
    ActionChains(page).move_by_offset(0, 300).perform()  # the pointer away from the marker
    page.execute_script("arguments[0].focus()", marker)
    wait(page).until(lambda d: tip.is_displayed())
    ActionChains(page).send_keys(Keys.ESCAPE).perform()
    wait(page).until(lambda d: not tip.is_displayed())
    assert page.execute_script("return document.activeElement") == marker
    # still on the answer: nothing navigated
    assert page.current_url == url
    assert page.find_element(By.ID, "answer").is_displayed()
    assert policy_violations(page) == []  # the tooltip is placed through the CSSOM, not a style attribute


def test_copy_the_answer_with_its_sources_and_one_source(browser: WebDriver, base_url: str):
    response = api_ask(base_url, FOOTNOTE_QUESTION)
    page = open_page(browser, base_url)
    ask(page, FOOTNOTE_QUESTION)
    watch_clipboard(page)

    page.find_element(By.ID, "copy-answer").click()
    wait(page).until(
        lambda d: (
            d.find_element(By.ID, "announcer").get_attribute("textContent") == "Réponse et sources copiées"
        )
    )
    copied = page.execute_script("return window.copiedText")
    assert copied.startswith(response["answer"].strip())
    assert "\nSources :\n" in copied
    cited = sorted({n for s in response["sentences"] for n in s["markers"]})
    for n in cited:
        passage = next(p for p in response["passages"] if p["marker"] == n)
        c = passage["citation"]
        if c["doc_id"] == PLAN:
            assert c["page_start"] is not None, "the action plan is cited with its PDF pages"
        line = next(line for line in copied.splitlines() if line.startswith(f"[{n}] "))
        # Commission européenne, « Title », COM(2020) 758 final, 24 novembre 2020, section …, p. 12, URL
        expected = [c.get("publisher"), f"« {c['title']} »", c.get("reference")]
        expected += [french_date(c["date"]) if c.get("date") else None]
        parts = c["section_path"]
        if len(parts) > 1 and parts[0] == c["title"]:
            parts = parts[1:]
        note = re.fullmatch(r"Note (\d+)", parts[-1]) if passage["kind"] == "footnote" else None
        if note:  # a footnote: "section 4. Mesures…, note 31"
            parts = parts[:-1]
        expected += ["section " + " > ".join(parts), f"note {note.group(1)}" if note else None]
        expected += [
            f"p. {c['page_start']}" if c.get("page_start") is not None else None,
            c.get("source_url"),
        ]
        positions = [line.find(part) for part in expected if part]
        assert all(pos >= 0 for pos in positions), (line, expected)
        assert positions == sorted(positions), line

    # one source: its text in quotes, its citation, its notes with their links
    details = footnote_with_link(page)
    passage = details.find_element(By.XPATH, "ancestor::article")
    passage.find_element(By.CSS_SELECTOR, "button.copy").click()
    wait(page).until(
        lambda d: d.find_element(By.ID, "announcer").get_attribute("textContent") == "Citation copiée"
    )
    copied = page.execute_script("return window.copiedText")
    assert copied.startswith("« ") and PLAN_TITLE in copied
    section = page.execute_script(
        "return arguments[0].querySelector('.meta .section').lastChild.textContent", passage
    )
    assert section.replace(" › ", " > ") in copied
    assert "Notes :" in copied and "https://" in copied


def test_fund_chips_name_the_funds_and_open_them(browser: WebDriver, base_url: str):
    response = api_ask(base_url, FUNDS_QUESTION)
    assert response.get("funds"), "the response of a funds question names its funds"
    page = open_page(browser, base_url)
    ask(page, FUNDS_QUESTION)
    chips = page.find_elements(By.CSS_SELECTOR, ".fund-chips li.fund-chip")
    assert page.find_element(By.CSS_SELECTOR, ".fund-chips-label").text == "Fonds cités :"
    assert len(chips) == len(response["funds"])
    for chip, mention in zip(chips, response["funds"], strict=True):
        link = chip.find_element(By.CSS_SELECTOR, "a.fund-link")
        assert link.get_attribute("textContent").startswith(mention["fund"])
        markers = [m.text for m in chip.find_elements(By.CSS_SELECTOR, "a.marker")]
        assert markers == [f"[{n}]" for n in mention["markers"]]
    # as read: "FAM [1][4] · FSE+ [1][3] · …" (the full name is there for screen readers)
    seen = [visible_text(page, chip) for chip in chips]
    assert seen == [m["fund"] + " " + "".join(f"[{n}]" for n in m["markers"]) for m in response["funds"]]
    first = response["funds"][0]

    # a chip opens the fund (GET /funds/{fund}) in a dialog; Escape closes it
    fund = httpx.get(f"{base_url}/funds/{quote(first['id'])}", timeout=WAIT_S).json()
    link = chips[0].find_element(By.CSS_SELECTOR, "a.fund-link")
    link.click()
    dialog = page.find_element(By.ID, "fund-dialog")
    wait(page).until(
        lambda d: dialog.is_displayed() and d.find_elements(By.CSS_SELECTOR, "#fund-dialog .fund-passages li")
    )
    assert page.find_element(By.ID, "fund-dialog-title").text == fund["fund"]["name"]
    shown = len(page.find_elements(By.CSS_SELECTOR, "#fund-dialog .fund-passages li"))
    assert shown == min(10, len(fund["passages"])) + min(10, len(fund["footnotes"]))
    assert_accessible(page, "the fund dialog")
    screenshot(page, "fund.png")
    ActionChains(page).send_keys(Keys.ESCAPE).perform()
    wait(page).until(lambda d: not dialog.is_displayed())
    assert page.execute_script("return document.activeElement") == link


# ---------------------------------------------------------------------------- no answer


def test_no_answer_speaks_the_interface_language(browser: WebDriver, base_url: str):
    response = api_ask(base_url, UNANSWERABLE, filters={"documents": [NETWORKS]})
    assert not response["answerable"]
    page = open_page(browser, base_url)
    Select(page.find_element(By.ID, "document-filter")).select_by_value(NETWORKS)
    ask(page, UNANSWERABLE)
    notice = page.find_element(By.CSS_SELECTOR, ".no-answer")
    assert page.find_element(By.ID, "no-answer-heading").text == "Pas de réponse dans les documents"
    asked = notice.find_element(By.CSS_SELECTOR, "q.asked")
    assert asked.text == UNANSWERABLE and asked.get_attribute("lang") == response["language"]
    assert "Les documents indexés ne répondent pas à la question" in notice.text
    assert f"Filtres actifs : document « {NETWORKS_TITLE} »" in notice.text
    # the closest passage is offered, and the passages are listed as the closest ones
    closest = notice.find_element(By.CSS_SELECTOR, ".closest")
    first = response["passages"][0]
    assert closest.find_element(By.CSS_SELECTOR, "a.marker").text == f"[{first['marker']}]"
    assert first["citation"]["title"] in closest.text
    count = len(page.find_elements(By.CSS_SELECTOR, "#closest-section article.passage"))
    assert page.find_element(By.ID, "closest-heading").text == f"Passages les plus proches ({count})"
    assert response["message"] not in notice.text  # the API's words are not the page's
    assert_accessible(page, "the no-answer state")
    full_page_screenshot(page, SCREENSHOTS / "no-answer.png")

    page.find_element(By.ID, "lang-toggle").click()
    assert page.find_element(By.ID, "no-answer-heading").text == "No answer in the documents"
    notice = page.find_element(By.CSS_SELECTOR, ".no-answer")
    assert "The indexed documents do not answer the question" in notice.text
    assert f"Active filters: document “{NETWORKS_TITLE}”" in notice.text
    assert notice.find_element(By.CSS_SELECTOR, "q.asked").get_attribute("lang") == response["language"]
    page.find_element(By.ID, "lang-toggle").click()

    # asked again without the filter
    previous = current_result(page)
    page.find_element(By.ID, "ask-without-filters").click()
    wait_result(page, previous)
    assert "document" not in parse_qs(urlsplit(page.current_url).query)
    assert page.find_element(By.ID, "document-filter").get_attribute("value") == ""


# ---------------------------------------------------------------------------- phone


def test_on_a_phone_the_answer_is_scrolled_to_and_focused(browser: WebDriver, base_url: str):
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True},
    )
    try:
        page = open_page(browser, base_url)
        assert page.execute_script("return window.innerWidth") == 390
        ask(page, NETWORK_QUESTION)
        wait(page).until(lambda d: active_id(d) == "answer")

        def in_view(d: WebDriver) -> bool:
            top, bottom, height = d.execute_script(
                "const r = document.getElementById('answer').getBoundingClientRect();"
                "return [r.top, r.bottom, window.innerHeight];"
            )
            return 0 <= top < height * 0.5 and bottom > 0

        wait(page).until(in_view)
        assert page.find_element(By.ID, "answer").is_displayed()
        assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        screenshot(page, "mobile.png")
        assert_accessible(page, "the phone-sized page")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


# ---------------------------------------------------------------------------- errors


def test_invalid_questions_get_errors_in_the_interface_language(browser: WebDriver, base_url: str):
    page = open_page(browser, base_url)
    ask(page, "?!")
    message = error_text(page)
    assert "La question n’est pas valide" in message
    assert "no letters or digits" in message  # the API's own words, as a detail
    assert not page.find_elements(By.CSS_SELECTOR, "#output section")

    # longer than the limit (the text box stops typing there; an address does not): 422
    long_question = "Quels fonds " + "a" * MAX_QUESTION_CHARS
    page.get(f"{base_url}/?q={quote(long_question)}")
    wait(page).until(lambda d: d.find_element(By.ID, "error").is_displayed())
    message = error_text(page)
    assert "La question est trop longue : 2 000 caractères au plus" in squash(message)
    assert f"({len(long_question)}envoyés)" in re.sub(r"\s", "", message)
    assert not page.find_elements(By.CSS_SELECTOR, "#error button.retry")  # retrying changes nothing
    assert active_id(page) == "error"


def test_a_server_error_offers_a_retry(browser: WebDriver, base_url: str):
    page = open_page(browser, base_url)
    fake_ask_failures(page, 500, 1, {})
    ask(page, NETWORK_QUESTION)
    message = error_text(page)
    assert "Le service a rencontré une erreur interne" in message
    assert "Injected failure 500" in message
    screenshot(page, "error.png")
    page.find_element(By.CSS_SELECTOR, "#error button.retry").click()
    wait(page).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#output section.answer"))
    assert not error_text(page)
    assert page.execute_script("return window.askCalls") == 2

    # in English too
    page.find_element(By.ID, "lang-toggle").click()
    fake_ask_failures(page, 429, 1, {})
    ask(page, NETWORK_QUESTION)
    assert "Too many requests" in error_text(page)
    assert page.find_element(By.CSS_SELECTOR, "#error button.retry").text == "Try again"
    page.execute_script("window.localStorage.clear()")


def test_a_503_with_retry_after_is_retried_by_itself(browser: WebDriver, base_url: str):
    page = open_page(browser, base_url)
    fake_ask_failures(page, 503, 1, {"Retry-After": "2"})
    box = page.find_element(By.ID, "question")
    box.send_keys(NETWORK_QUESTION, Keys.ENTER)
    wait(page).until(lambda d: "Nouvel essai automatique dans" in error_text(d))
    message = error_text(page)
    assert "momentanément indisponible" in message and "(essai 1 sur 3)" in message
    assert page.find_element(By.CSS_SELECTOR, "#error button.retry").text == "Réessayer maintenant"
    # then the answer, without a click
    wait(page).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#output section.answer"))
    assert not error_text(page)
    assert page.execute_script("return window.askCalls") == 2


# ---------------------------------------------------------------------------- address and history


def test_the_question_in_the_address_survives_a_reload(browser: WebDriver, base_url: str):
    page = open_page(browser, base_url)
    Select(page.find_element(By.ID, "document-filter")).select_by_value(NETWORKS)
    page.find_element(By.CSS_SELECTOR, "#advanced > summary").click()
    page.find_element(By.CSS_SELECTOR, "label[for='mode-bm25']").click()
    ask(page, NETWORK_QUESTION)
    query = parse_qs(urlsplit(page.current_url).query)
    assert query == {"q": [NETWORK_QUESTION], "mode": ["bm25"], "document": [NETWORKS]}
    answer = page.find_element(By.CSS_SELECTOR, ".answer-text").text

    page.refresh()
    wait_result(page)
    assert page.find_element(By.CSS_SELECTOR, ".answer-text").text == answer
    assert page.find_element(By.ID, "question").get_attribute("value") == NETWORK_QUESTION
    assert page.find_element(By.ID, "mode-bm25").is_selected()
    wait(page).until(lambda d: d.find_element(By.ID, "document-filter").get_attribute("value") == NETWORKS)


def test_history_keeps_the_last_questions(browser: WebDriver, base_url: str):
    page = open_page(browser, base_url)
    history = page.find_element(By.ID, "history")
    assert not history.is_displayed()
    ask(page, NETWORK_QUESTION)
    ask(page, FOOTNOTE_QUESTION)
    assert page.find_element(By.ID, "history-summary").text == "Questions récentes (2)"
    page.find_element(By.ID, "history-summary").click()
    items = page.find_elements(By.CSS_SELECTOR, "#history-list button.history-item")
    assert [visible_text(page, i) for i in items] == [FOOTNOTE_QUESTION, NETWORK_QUESTION]  # newest first
    screenshot(page, "history.png")

    previous = current_result(page)
    items[1].click()  # asked again, and first again
    wait_result(page, previous)
    assert page.find_element(By.ID, "question").get_attribute("value") == NETWORK_QUESTION
    assert parse_qs(urlsplit(page.current_url).query)["q"] == [NETWORK_QUESTION]
    items = page.find_elements(By.CSS_SELECTOR, "#history-list button.history-item")
    assert [visible_text(page, i) for i in items] == [NETWORK_QUESTION, FOOTNOTE_QUESTION]

    # ten at most
    page.execute_script(
        "localStorage.setItem('policyqa.history', JSON.stringify(arguments[0]))",
        [{"question": f"Question {i} ?"} for i in range(12)],
    )
    ask(page, NETWORK_QUESTION)
    stored = page.execute_script("return JSON.parse(localStorage.getItem('policyqa.history'))")
    assert len(stored) == 10 and stored[0]["question"] == NETWORK_QUESTION

    page.find_element(By.ID, "history-clear").click()
    wait(page).until(lambda d: not history.is_displayed())
    assert page.execute_script("return localStorage.getItem('policyqa.history')") is None


# ---------------------------------------------------------------------------- feedback


def test_feedback_is_posted_and_read_back(browser: WebDriver, base_url: str):
    response = api_ask(base_url, NETWORK_QUESTION)
    page = open_page(browser, base_url)
    ask(page, NETWORK_QUESTION)
    send = page.find_element(By.ID, "feedback-send")
    send.click()  # no rating chosen yet
    wait(page).until(lambda d: "Choisissez" in d.find_element(By.ID, "feedback").text)
    down = page.find_element(By.ID, "feedback-down")
    down.click()
    wait(page).until(lambda d: d.find_element(By.ID, "feedback-down").get_attribute("aria-pressed") == "true")
    comment = f"Il manque la date de création du réseau ({uuid.uuid4().hex[:8]})"
    page.find_element(By.ID, "feedback-comment").send_keys(comment)
    page.find_element(By.ID, "feedback-send").click()
    wait(page).until(lambda d: d.find_elements(By.ID, "feedback-thanks"))
    assert page.find_element(By.ID, "feedback-thanks").text == "Merci ! Votre avis a été enregistré."
    assert active_id(page) == "feedback-thanks"
    screenshot(page, "feedback.png")

    r = httpx.get(f"{base_url}/feedback", headers={"X-API-Key": API_KEY}, timeout=WAIT_S)
    assert r.status_code == 200, r.text
    stored = next(f for f in r.json()["feedback"] if f["comment"] == comment)
    assert stored["rating"] == "down" and stored["question"] == NETWORK_QUESTION
    assert stored["answerable"] is response["answerable"] and stored["language"] == response["language"]
    assert stored["answer"] == response["answer"]
    assert stored["passage_ids"] == [p["id"] for p in response["passages"]]
    assert stored["markers"] == [p["marker"] for p in response["passages"]]
    assert stored["doc_ids"] == list(dict.fromkeys(p["citation"]["doc_id"] for p in response["passages"]))
    assert stored["settings"]["ui_language"] == "fr" and stored["settings"]["top_k"] == 5
    # the list needs the key
    assert httpx.get(f"{base_url}/feedback", timeout=WAIT_S).status_code == 401


def test_feedback_errors_offer_a_retry(browser: WebDriver, base_url: str):
    page = open_page(browser, base_url)
    ask(page, NETWORK_QUESTION)
    page.execute_script(
        """const realFetch = window.fetch.bind(window); window.feedbackCalls = 0;
        window.fetch = function (input, init) {
          if (String(input).endsWith("feedback") && ++window.feedbackCalls === 1) {
            return Promise.resolve(new Response(JSON.stringify({error: "Database locked", detail: null}),
              {status: 503, headers: {"Content-Type": "application/json"}}));
          }
          return realFetch(input, init);
        };"""
    )
    page.find_element(By.ID, "feedback-up").click()
    page.find_element(By.ID, "feedback-send").click()
    wait(page).until(lambda d: d.find_elements(By.ID, "feedback-error"))
    assert "momentanément indisponible" in page.find_element(By.ID, "feedback-error").text
    assert page.find_element(By.ID, "feedback-up").get_attribute("aria-pressed") == "true"
    page.find_element(By.ID, "feedback-retry").click()
    wait(page).until(lambda d: d.find_elements(By.ID, "feedback-thanks"))


# ---------------------------------------------------------------------------- language, safety, policy


def test_english_switch_translates_and_is_remembered(browser: WebDriver, base_url: str):
    page = open_page(browser, base_url)
    ask(page, NETWORK_QUESTION)
    assert page.find_element(By.ID, "sources-heading").text.startswith("Sources de la réponse (")

    page.find_element(By.ID, "lang-toggle").click()
    assert page.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert page.find_element(By.CSS_SELECTOR, "label[for='question']").text == "Your question"
    assert page.find_element(By.ID, "sources-heading").text.startswith("Sources of the answer (")  # redrawn
    assert page.find_element(By.ID, "copy-answer").text == "Copy the answer with its sources"
    assert page.find_element(By.ID, "lang-toggle").text == "Français"
    full_page_screenshot(page, SCREENSHOTS / "ask-en.png")

    page.refresh()
    wait(page).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "label[for='question']").text == "Your question"
    )
    page.execute_script("window.localStorage.clear()")


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
    # the highlighted sentence and the preview are built node by node too
    marker = page.find_element(By.CSS_SELECTOR, "#output a.marker")
    page.execute_script("arguments[0].focus()", marker)
    assert page.execute_script("return window.injected") is None
    assert not page.find_elements(By.CSS_SELECTOR, "#output img, #output script")


def test_the_page_runs_under_its_content_security_policy(browser: WebDriver, base_url: str):
    policy_violations(browser)  # forget earlier pages
    page = open_page(browser, base_url)
    ask(page, FUNDS_QUESTION)
    assert page.find_elements(By.CSS_SELECTOR, "#output section")
    marker = page.find_element(By.CSS_SELECTOR, ".answer-text a.marker")
    ActionChains(page).move_to_element(marker).perform()
    csp = httpx.get(f"{base_url}/", timeout=WAIT_S).headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert policy_violations(page) == []


def test_api_docs_render_offline_under_their_policy(browser: WebDriver, base_url: str):
    """Swagger UI comes from this server (the fastapi-offline package), not from a CDN."""
    policy_violations(browser)
    browser.get(f"{base_url}/docs")
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .info .title"))
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"))
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
    key_box = browser.find_element(By.ID, "api-key")
    wait(browser).until(lambda d: key_box.is_displayed())  # the filters' requests got 401
    assert active_id(browser) == "api-key"
    key_box.send_keys("wrong-key", Keys.ENTER)
    wait(browser).until(lambda d: d.find_element(By.ID, "key-form").is_displayed())
    wait(browser).until(lambda d: "pas acceptée" in d.find_element(By.ID, "key-hint").text)
    key_box.send_keys(API_KEY, Keys.ENTER)
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#document-filter option")) > 1)
    assert not browser.find_element(By.ID, "key-form").is_displayed()
    assert browser.execute_script("return window.sessionStorage.getItem('policyqa.apiKey')") == API_KEY
    assert browser.execute_script("return window.localStorage.getItem('policyqa.apiKey')") is None
    ask(browser, NETWORK_QUESTION)
    assert not error_text(browser) and browser.find_elements(By.CSS_SELECTOR, "#output section")
    # feedback goes with the key too
    browser.find_element(By.ID, "feedback-up").click()
    browser.find_element(By.ID, "feedback-send").click()
    wait(browser).until(lambda d: d.find_elements(By.ID, "feedback-thanks"))
    # the key stays for the tab: a reload (which asks the question of the address again)
    # needs no typing
    browser.refresh()
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#document-filter option")) > 1)
    wait_result(browser)
    assert not browser.find_element(By.ID, "key-form").is_displayed()
    assert not error_text(browser)
    browser.execute_script("window.sessionStorage.clear()")
