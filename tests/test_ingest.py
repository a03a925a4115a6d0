"""Readers, enrichment and chunking on the real corpus (issue 2)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from ingest.chunker import chunk_document
from ingest.enrich import detect_language, find_legal_refs, find_urls
from ingest.errors import EmptyDocument, EncodingError, UnsupportedFileType
from ingest.funds import FundRegistry, expand_query, find_funds, resolve
from ingest.models import ParsedDocument, Passage
from ingest.pipeline import iter_corpus, parse_and_chunk
from ingest.readers import read_bytes, read_document
from ingest.text_reader import read_web_page, read_word_text
from tests.conftest import CORPUS

PLAN = CORPUS / "plan-action-integration-inclusion-2021-2027.txt"
WEB = CORPUS / "reseaux-cooperation-ue-integration-migrants.txt"
MARKERS = re.compile(r"\[footnoteRef|\[bookmark|\[image|\[\d+:")


@cache
def plan() -> tuple[ParsedDocument, list[Passage]]:
    return parse_and_chunk(PLAN)


@cache
def web() -> tuple[ParsedDocument, list[Passage]]:
    return parse_and_chunk(WEB)


def test_all_69_footnotes_with_number_and_complete_text():
    doc, _ = plan()
    assert sorted(doc.footnotes) == list(range(2, 71))
    assert (
        doc.footnotes[20].text
        == "Une Union de l’égalité: plan d’action de l’UE contre le racisme 2020-2025 [COM(2020) 565 final]."
    )
    assert doc.footnotes[5].text == (
        "Eurostat, données démographiques, 2019 (N.B: tous les indicateurs fournis ci-dessous se rapportent à l’UE-27)."
    )
    assert doc.footnotes[70].text == (
        "https://reliefweb.int/sites/reliefweb.int/files/resources/RefugeeIntegrationCostBenefitAnalysis_Final.pdf."
    )
    # a note spanning two lines keeps both
    assert doc.footnotes[55].text.endswith("people-with-a-migrant-background.")
    assert doc.footnotes[55].text.startswith("Il s’agira d’une mise à jour du «Toolkit»")


def test_every_footnote_is_attached_to_the_passage_that_cites_it():
    _, passages = plan()
    body = {p.id: p for p in passages if p.kind == "passage"}
    notes = {p.footnote_number: p for p in passages if p.kind == "footnote"}
    assert sorted(notes) == list(range(2, 71))
    for number, note in notes.items():
        assert note.cited_by, f"note {number} is cited by no passage"
        for pid in note.cited_by:
            assert number in [f.number for f in body[pid].footnotes]
    cited = next(p for p in body.values() if "Employeurs unis pour l’intégration" in p.text)
    assert 41 in [f.number for f in cited.footnotes]


def test_no_markup_left_in_any_passage():
    for _, passages in (plan(), web()):
        for p in passages:
            assert not MARKERS.search(p.text), p.text[:120]
            assert "\x00" not in p.text


def test_headings_recovered_in_the_section_tree():
    doc, passages = plan()
    raw = PLAN.read_text(encoding="utf-8").splitlines()
    expected = [line.rstrip() for line in raw if re.match(r"^(\d|I|II|III|IV|V)\.\s", line)]
    assert len(expected) == 15
    paths = {h for b in doc.blocks for h in b.section_path}
    assert set(expected) <= paths
    assert (
        "IV.  Renforcer l’utilisation de nouvelles technologies et d’outils numériques pour l’intégration et l’inclusion"
        in paths
    )
    funding = [
        p
        for p in passages
        if p.kind == "passage" and any(s.startswith("II. Davantage de possibilités") for s in p.section_path)
    ]
    assert funding and all(p.section_path[0].startswith("5. ") for p in funding)
    assert any("Qu’entend faire la Commission" in s for p in funding for s in p.section_path)


def test_offsets_round_trip():
    for doc, passages in (plan(), web()):
        for block in doc.blocks:
            assert doc.clean_text[block.start : block.end] == block.text
        for note in doc.footnotes.values():
            assert doc.clean_text[note.start : note.end] == note.text
        for p in passages:
            assert doc.clean_text[p.start : p.end] == p.text
            assert p.embed_text.endswith(p.text)


def test_passages_never_cross_a_section_and_respect_the_size():
    doc, passages = plan()
    for p in passages:
        if p.kind != "passage":
            continue
        inside = [b for b in doc.blocks if b.start < p.end and b.end > p.start]
        assert len({tuple(b.section_path) for b in inside}) == 1
        assert all(b.kind != "heading" for b in inside)
        assert len(p.text) <= 1000 or len(inside) == 1


def test_ids_are_stable_and_unique():
    _, first = plan()
    second = chunk_document(read_word_text(PLAN))
    assert [p.id for p in first] == [p.id for p in second]
    assert len({p.id for p in first}) == len(first)
    assert all(p.id.startswith("plan-action-integration-inclusion-2021-2027:") for p in first)


def test_web_page_has_three_network_sections():
    doc, passages = web()
    assert doc.title == "Les réseaux de coopération de l’UE pour l’intégration des migrants"
    sections = {p.section_path[-1] for p in passages}
    assert {
        "Le réseau européen d’Intégration",
        "Forum européen sur la migration",
        "Partenariat de l’Agenda Urbain pour l’inclusion des migrants et réfugiés",
    } <= sections
    text = doc.clean_text
    for noise in ("Navigation path", "Read more", "Members"):
        assert noise not in text


def test_funds_legal_references_and_urls_extracted():
    _, passages = plan()
    notes = {p.footnote_number: p for p in passages if p.kind == "footnote"}
    assert any("toolkit-on-the-use-of-eu-funds" in u for u in notes[55].urls)
    assert "Directive 2004/38/CE" in notes[3].legal_refs
    assert "COM(2020) 565 final" in notes[20].legal_refs
    fse = [p for p in passages if "esf_plus" in p.funds]
    assert fse and any("FSE+" in p.text for p in fse)
    citing_55 = next(p for p in passages if p.id in notes[55].cited_by)
    assert any("toolkit" in u for u in citing_55.urls)
    assert citing_55.footnotes[-1].urls


def test_language_detected_per_passage():
    _, passages = plan()
    assert {p.language for p in passages if p.kind == "passage" and len(p.text) > 200} == {"fr"}
    assert detect_language("Which fund supports the integration of migrants?") == "en"
    assert detect_language("Welche Umfrage will die Kommission starten?") == "de"
    assert detect_language("FSE+") == "fr"  # too short to tell: the fallback


@pytest.mark.parametrize(
    "name", ["FSE+", "ESF+", "European Social Fund Plus", "fse+", "Fonds social européen plus", "esf_plus"]
)
def test_fund_names_resolve_to_one_id(name):
    assert resolve(name) == "esf_plus"


def test_fund_matching_is_careful():
    assert find_funds("le FSE+ et le FSE") == ["esf_plus", "esf"]
    assert find_funds("ces fonds") == []
    assert find_funds("le Fonds «Asile et migration» (FAM)") == ["amf"]
    assert find_funds("Fonds «Asile, migration et intégration»") == ["amif"]
    assert "FSE+" in expand_query("What does ESF+ fund?")
    assert len(FundRegistry.load().funds) >= 20


def test_enrichment_helpers():
    assert find_urls("voir https://ec.europa.eu/a_en. puis (https://b.eu/c).") == [
        "https://ec.europa.eu/a_en",
        "https://b.eu/c",
    ]
    refs = find_legal_refs(
        "règlement (UE) n° 1303/2013, C(2020) 6467 final et COM(2018) 383 final/2 – 2018/0207 (COD)"
    )
    assert refs == [
        "règlement (UE) n° 1303/2013",
        "C(2020) 6467 final",
        "COM(2018) 383 final/2",
        "2018/0207 (COD)",
    ]


def test_corpus_listing_skips_alternate_formats():
    files = [p.name for p in iter_corpus(CORPUS)]
    assert files == [PLAN.name, WEB.name]


def test_bad_input_is_refused_clearly(tmp_path: Path):
    empty = tmp_path / "vide.txt"
    empty.write_bytes(b"  \n")
    with pytest.raises(EmptyDocument):
        read_document(empty)
    with pytest.raises(UnsupportedFileType, match=r"\.docx"):
        read_bytes(b"PK\x03\x04", "rapport.docx")
    with pytest.raises(EncodingError, match="UTF-8"):
        read_bytes(bytes(range(256)) * 8, "binaire.txt")


def test_latin1_text_is_decoded(tmp_path: Path):
    path = tmp_path / "latin1.txt"
    text = "Intégration des réfugiés\n\nLe réseau européen d’intégration se réunit à Bruxelles chaque année, à l’été."
    path.write_bytes(text.replace("’", "'").encode("latin-1"))
    doc = read_document(path)
    assert "réseau européen d'intégration" in doc.clean_text


def test_upload_bytes_and_word_export_detection():
    doc = read_bytes(PLAN.read_bytes(), "plan.txt")
    assert doc.source_format == "text" and len(doc.footnotes) == 69
    doc = read_bytes(WEB.read_bytes(), "page.txt")
    assert doc.source_format == "web"


def test_reader_functions_directly():
    assert read_web_page(WEB).doc_id == "reseaux-cooperation-ue-integration-migrants"
    assert read_word_text(PLAN, doc_id="x").doc_id == "x"
