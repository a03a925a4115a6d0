"""Page numbers of the action plan's text passages, taken from its PDF (ingest/pages.py, issue #18).

The corpus indexes the Word text export of the action plan; sources.json declares the PDF
its alternate, and every passage gets the pages it is printed on in that PDF. The expected
pages below were read on the rendered PDF pages by hand (and agree with pdfium's text,
``benchmarks/pdf_pages.py``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingest.chunker import chunk_document
from ingest.models import ParsedDocument, Passage
from ingest.pages import PdfText, add_pages, normalise, pdf_text
from ingest.pipeline import parse_and_chunk, pdf_alternate
from ingest.readers import read_document

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
PLAN = "plan-action-integration-inclusion-2021-2027"
TXT = CORPUS / f"{PLAN}.txt"
PDF = CORPUS / "pdf" / f"{PLAN}.pdf"
WEB = CORPUS / "reseaux-cooperation-ue-integration-migrants.txt"
PAGES = 24


@pytest.fixture(scope="module")
def parsed() -> tuple[ParsedDocument, list[Passage]]:
    return parse_and_chunk(TXT)


@pytest.fixture(scope="module")
def passages(parsed) -> list[Passage]:
    return parsed[1]


def holding(passages: list[Passage], span: str, kind: str = "passage") -> Passage:
    (found,) = [p for p in passages if p.kind == kind and span in p.text]
    return found


def note(passages: list[Passage], number: int) -> Passage:
    (found,) = [p for p in passages if p.footnote_number == number]
    return found


# ---------------------------------------------------------------------------- the action plan


def test_the_pdf_is_found_as_the_texts_alternate():
    assert pdf_alternate(TXT) == PDF.resolve()
    assert pdf_alternate(WEB) is None  # declared, but no PDF version
    assert pdf_alternate(PDF) is None  # the PDF is not its own alternate


def test_nearly_every_passage_gets_a_page_within_the_pdf(passages):
    with_page = [p for p in passages if p.page_start is not None]
    assert len(with_page) / len(passages) >= 0.98
    for kind in ("passage", "footnote", "outline"):
        assert any(p.page_start is not None for p in passages if p.kind == kind)
    for p in with_page:
        assert p.page_end is not None and 1 <= p.page_start <= p.page_end <= PAGES, p.id
    body = [p.page_start for p in passages if p.kind == "passage" and p.page_start is not None]
    assert body == sorted(body)  # reading order
    assert body[0] == 1 and body[-1] == PAGES


@pytest.mark.parametrize(
    ("span", "pages"),
    [
        # page 2, 10th line from the bottom of the body
        ("non seulement un devoir moral conforme aux valeurs fondamentales de l’Union", (2, 2)),
        # page 7, in the last paragraph before "4. Mesures dans les principaux domaines sectoriels"
        ("Les villages, villes et régions où les migrants vivent, travaillent", (7, 7)),
        # page 20, the item before last: a passage printed on one page
        ("Lancer un prix de l’intégration pour reconnaître la contribution d’écoles", (20, 20)),
        # "... jouera un rôle clé à cet" ends page 22, "égard dans le cadre ..." opens page 23
        ("L’Agence des droits fondamentaux de l’Union européenne jouera un rôle clé à cet égard", (22, 23)),
    ],
)
def test_body_passages_get_the_pages_they_are_printed_on(passages, span, pages):
    p = holding(passages, span)
    assert p.page_start is not None and p.page_end is not None
    assert p.page_start <= pages[0] and pages[-1] <= p.page_end
    assert p.page_end - p.page_start <= 1  # a passage of <= 800 characters spans at most a page break


def test_a_passage_across_a_page_break_spans_both_pages(passages):
    p = holding(passages, "L’Agence des droits fondamentaux de l’Union européenne jouera un rôle clé")
    assert (p.page_start, p.page_end) == (22, 23)


@pytest.mark.parametrize(
    ("number", "pages"),
    [
        (8, (2, 2)),  # "26,8 % des adultes (25-64 ans) ..." at the foot of page 2
        (31, (7, 7)),  # "Les résultats des consultations sont disponibles ..."
        (57, (19, 20)),  # starts at the foot of page 19, its address runs on at the foot of page 20
        (58, (20, 20)),  # "Voir les résultats de l’Eurobaromètre 2018 sur l’intégration"
        (63, (22, 22)),  # "Voir: https://ec.europa.eu/eurostat/fr/web/migrant-integration/..."
    ],
)
def test_footnotes_get_the_page_where_they_are_printed(passages, number, pages):
    p = note(passages, number)
    assert (p.page_start, p.page_end) == pages


def test_outlines_start_on_their_headings_page(passages):
    outlines = {p.text.split("\n")[0]: p for p in passages if p.kind == "outline"}
    chapter4 = outlines["Plan de la section : 4. Mesures dans les principaux domaines sectoriels"]
    assert chapter4.page_start == 7  # "4. Mesures dans les principaux domaines sectoriels", page 7
    assert chapter4.page_end == 14  # "IV. Logement", the last section it lists, page 14
    whole = next(p for k, p in outlines.items() if k.startswith("Plan du document"))
    assert (whole.page_start, whole.page_end) == (1, PAGES)  # "6. Conclusions" is on the last page


def test_only_the_pages_change_and_the_french_text_is_untouched(parsed):
    doc, with_pages = parsed
    bare = chunk_document(read_document(TXT, PLAN))
    assert len(bare) == len(with_pages)
    for a, b in zip(bare, with_pages, strict=True):
        assert a.page_start is None
        assert {**a.to_dict(), "page_start": None, "page_end": None} == {
            **b.to_dict(),
            "page_start": None,
            "page_end": None,
        }
    text = "\n".join(p.text for p in with_pages)
    for kept in ("’", "«", "»", "œ", "\u00a0%"):
        assert kept in text
    assert doc.metadata["pages"] == PAGES and doc.metadata["pages_from"] == f"pdf/{PLAN}.pdf"
    assert doc.metadata["reference"] == "COM(2020) 758 final"


def test_web_page_text_gets_no_pages():
    _, passages = parse_and_chunk(WEB)
    assert passages and all(p.page_start is None and p.page_end is None for p in passages)


def test_without_sources_json_there_are_no_pages(tmp_path: Path):
    copy = tmp_path / TXT.name
    shutil.copy2(TXT, copy)
    doc, passages = parse_and_chunk(copy)
    assert all(p.page_start is None for p in passages)
    assert "pages" not in doc.metadata and "reference" not in doc.metadata


def test_an_unreadable_pdf_alternate_leaves_pages_empty(tmp_path: Path):
    (tmp_path / "pdf").mkdir()
    shutil.copy2(TXT, tmp_path / TXT.name)
    (tmp_path / "pdf" / PDF.name).write_bytes(b"%PDF-1.4 this is not a PDF")
    sources = json.loads((CORPUS / "sources.json").read_text(encoding="utf-8"))
    (tmp_path / "sources.json").write_text(json.dumps(sources), encoding="utf-8")
    doc, passages = parse_and_chunk(tmp_path / TXT.name)
    assert passages and all(p.page_start is None for p in passages)
    assert "pages" not in doc.metadata and "pages_from" not in doc.metadata
    assert doc.metadata["reference"] == "COM(2020) 758 final"  # the rest of the entry still applies


# ---------------------------------------------------------------------------- matching


def test_normalise_keeps_only_what_both_versions_share():
    # quotes, ligature, accents, case, footnote digits glued to a word, a line-end hyphen
    text = "L’«inté-\ngration» des cœurs, COVID-1912 !"
    pdf = "l'« INTÉGRATION » des coeurs, covid-19"
    assert normalise(text) == normalise(pdf) == "lintegrationdescoeurscovid"


def test_locate_across_a_page_break_and_a_typo():
    pages = [
        "COM(2020) 758 final\nLe présent plan d’action s’inscrit dans le cadre de la réponse globale ap-\n"
        "14 Note de bas de page imprimée sous le texte.\n1",
        "COM(2020) 758 final\nportée aux défis liés à la migration dans le nouveau pacte sur la migration "
        "et l’asile. La réussite des politiques d’intégration est également au cœur d’un sytème européen.\n2",
    ]
    pdf = PdfText.from_pages(pages)
    passage = (
        "Le présent plan d’action s’inscrit dans le cadre de la réponse globale apportée aux défis "
        "liés à la migration dans le nouveau pacte sur la migration et l’asile[footnoteRef:14]. La "
        "réussite des politiques d’intégration est également au cœur d’un système européen."
    ).replace("[footnoteRef:14]", "")
    found = pdf.locate(normalise(passage))
    assert found is not None and pdf.pages_of(*found) == (1, 2)
    assert pdf.locate(normalise("La réussite des politiques d’intégration est également au cœur")) is not None
    assert pdf.locate(normalise("Une phrase qui n’est imprimée nulle part dans ce document.")) is None


def test_add_pages_on_a_cached_pdf_is_repeatable():
    doc = read_document(TXT, PLAN)
    first, second = chunk_document(doc), chunk_document(doc)
    add_pages(doc, first, pdf_text(PDF))
    report = add_pages(doc, second, pdf_text(PDF))  # the second read comes from the cache
    assert [(p.page_start, p.page_end) for p in first] == [(p.page_start, p.page_end) for p in second]
    assert report.pages == PAGES and report.coverage >= 0.98 and not report.missed
