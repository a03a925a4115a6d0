"""URLs, legal references and language, on strings and on the real action plan."""

from __future__ import annotations

import pytest

from core.languages import detect_language
from ingest.enrich import find_legal_refs, find_urls
from ingest.text_reader import read_word_text
from tests.conftest import CORPUS

PLAN = CORPUS / "plan-action-integration-inclusion-2021-2027.txt"


def test_urls_lose_sentence_punctuation_but_keep_their_own():
    text = (
        "voir https://ec.europa.eu/a_en. puis (https://b.eu/c). et https://x.eu/p_(a)), ou www.oecd.org/fr;"
    )
    assert find_urls(text) == [
        "https://ec.europa.eu/a_en",
        "https://b.eu/c",
        "https://x.eu/p_(a)",
        "www.oecd.org/fr",
    ]
    query = "https://ec.europa.eu/social/main.jsp?catId=1079&langId=fr."
    assert find_urls(query) == ["https://ec.europa.eu/social/main.jsp?catId=1079&langId=fr"]
    assert find_urls("«https://a.eu/b»") == ["https://a.eu/b"]
    assert find_urls("aucun lien") == []


def test_url_glued_to_text_in_a_footnote():
    note = read_word_text(PLAN).footnotes[69].text
    assert find_urls(note) == [
        "https://ec.europa.eu/home-affairs/sites/homeaffairs/files/com_ad-hoc_query_integration_wider_dissemination.pdf"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("COM(2020) 758 final", ["COM(2020) 758 final"]),
        ("COM (2020)\u00a0565 final.", ["COM(2020) 565 final"]),
        ("C(2020) 123 final et SWD(2020) 290", ["C(2020) 123 final", "SWD(2020) 290"]),
        ("COM(2018) 383 final/2 – 2018/0207 (COD)", ["COM(2018) 383 final/2", "2018/0207 (COD)"]),
        ("la Directive 2004/38/CE relative", ["Directive 2004/38/CE"]),
        ("la directive (UE) 2019/1158 du Parlement", ["directive (UE) 2019/1158"]),
        ("règlement (UE) n°\u00a01303/2013", ["règlement (UE) n° 1303/2013"]),
        ("règlement (CEE) nº 1612/68", ["règlement (CEE) n° 1612/68"]),
        ("décision 2011/833/UE de la Commission", ["décision 2011/833/UE"]),
        ("recommandation du Conseil (UE) 2020/1364", ["recommandation du Conseil (UE) 2020/1364"]),
        ("recommandation du Conseil du 30 octobre 2020 (2020/C 417/01)", ["2020/C 417/01"]),
        ("Regulation (EU) No 1303/2013", ["Regulation (EU) No 1303/2013"]),
        (
            "les directives 64/221/CEE, 68/360/CEE et 72/194/CEE",
            ["directive 64/221/CEE", "directive 68/360/CEE", "directive 72/194/CEE"],
        ),  # fmt: skip
        ("la recommandation du Conseil relative aux jeunes", []),  # not numbered
        ("en 2019/2020, 30 %", []),
    ],
)
def test_legal_references(text: str, expected: list[str]):
    assert find_legal_refs(text) == expected


def test_legal_references_deduplicated_across_spellings():
    text = "Directive 2004/38/CE ... la directive 2004/38/CE; COM(2020) 565 final et COM (2020) 565 final"
    assert find_legal_refs(text) == ["Directive 2004/38/CE", "COM(2020) 565 final"]


def test_legal_references_of_the_action_plan():
    doc = read_word_text(PLAN)
    assert "Directive 2004/38/CE" in find_legal_refs(doc.footnotes[3].text)
    assert find_legal_refs(doc.footnotes[20].text) == ["COM(2020) 565 final"]
    assert find_legal_refs(doc.footnotes[57].text) == ["C(2020) 6467 final"]
    everything = find_legal_refs(doc.clean_text)
    com = {r for r in everything if r.startswith("COM(")}
    assert com == {f"COM(2020) {n} final" for n in (152, 274, 409, 565, 575, 620, 624, 625, 662, 698)} | {
        "COM(2018) 383 final/2"
    }
    assert "règlement (CEE) n° 1612/68" in everything and "directive 93/96/CEE" in everything


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Quels sont les objectifs de la Commission en matière de logement des migrants ?", "fr"),
        ("Which fund supports the integration of migrants in cities?", "en"),
        ("Welche Umfrage will die Kommission zur Integration starten?", "de"),
        ("¿Qué fondo apoya la integración de los migrantes?", "es"),
        ("Quale fondo sostiene l’integrazione dei migranti nelle città europee?", "it"),
    ],
)
def test_language_of_questions(text: str, lang: str):
    assert detect_language(text) == lang


def test_short_or_undecidable_text_falls_back():
    assert detect_language("FSE+") == "fr"
    assert detect_language("2021-2027", fallback="und") == "und"
    assert detect_language("") == "fr"
    assert detect_language("OK", fallback="en") == "en"


def test_action_plan_is_french():
    assert read_word_text(PLAN).language == "fr"
