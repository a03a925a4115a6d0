"""The Word-export reader on the real action plan: footnotes, markers, headings, offsets, bad input."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from core.errors import EmptyDocument, EncodingError
from ingest.models import ParsedDocument
from ingest.text_reader import cut_notes, read_word_text
from tests.conftest import CORPUS

PLAN = CORPUS / "plan-action-integration-inclusion-2021-2027.txt"
MARKERS = re.compile(r"\[footnoteRef|\[bookmark|\[image|\[\d+:")
NBSP = "\u00a0"


@cache
def plan() -> ParsedDocument:
    return read_word_text(PLAN)


def test_title_doc_id_and_format():
    doc = plan()
    assert doc.title == "Plan d’action en faveur de l’intégration et de l’inclusion pour la période 2021-2027"
    assert doc.doc_id == "plan-action-integration-inclusion-2021-2027"
    assert doc.source_format == "text" and doc.language == "fr"
    assert read_word_text(PLAN, doc_id="plan").doc_id == "plan"


def test_all_69_footnotes_numbered_2_to_70():
    assert sorted(plan().footnotes) == list(range(2, 71))
    assert all(note.text and note.number == n for n, note in plan().footnotes.items())


def test_footnote_texts_are_complete():
    notes = plan().footnotes
    # brackets inside a note; the no-break space of the source kept
    assert (
        notes[20].text
        == f"Une Union de l’égalité: plan d’action de l’UE contre le racisme 2020-2025 [COM(2020){NBSP}565 final]."
    )
    assert notes[57].text.startswith(
        "Recommandation de la Commission sur les voies légales d’accès à une protection dans l’UE [C(2020) 6467 final]. https://"
    )
    # the last one
    assert notes[70].text == (
        "https://reliefweb.int/sites/reliefweb.int/files/resources/RefugeeIntegrationCostBenefitAnalysis_Final.pdf."
    )
    # a note over two lines: the line break becomes a space, the URL stays whole
    assert notes[55].text == (
        "Il s’agira d’une mise à jour du «Toolkit» sur l’utilisation des fonds de l’UE en faveur de "
        "l’intégration des personnes issues de l’immigration de 2018: https://ec.europa.eu/regional_policy/fr/"
        "information/publications/guides/2018/toolkit-on-the-use-of-eu-funds-for-the-integration-of-people-"
        "with-a-migrant-background."
    )
    # three notes in a row after one paragraph, the third ending with a line break
    assert notes[3].text.startswith("L’accès des citoyens de l’Union issus de l’immigration aux droits")
    assert (
        f"Directive 2004/38/CE du Parlement européen et du Conseil du{NBSP}29{NBSP}avril{NBSP}2004"
        in notes[3].text
    )
    assert notes[3].text.endswith("que celles fixées dans la présente directive.")
    assert notes[4].text == (
        "Disponible à l'adresse suivante: "
        "https://eur-lex.europa.eu/legal-content/FR/TXT/PDF/?uri=CELEX:52016DC0377&qid=1605688750446&from=FR."
    )


def test_cut_notes_counts_bracket_depth():
    body, notes = cut_notes("Texte[footnoteRef:7].  [7: Voir [COM(2020) 1 final] et [x [y]].] Suite [8: n]")
    assert notes == {7: "Voir [COM(2020) 1 final] et [x [y]].", 8: "n"}
    assert "Suite" in body and "Voir" not in body


def test_no_marker_left_in_the_text():
    doc = plan()
    body = doc.clean_text[: doc.blocks[-1].end]
    assert not MARKERS.search(body)
    assert not re.search("[\ue000\ue001]", doc.clean_text)
    for note in doc.footnotes.values():
        assert not re.search(r"\[footnoteRef|\[bookmark|\[image", note.text)


def test_refs_recorded_on_the_citing_blocks_and_spacing_repaired():
    doc = plan()
    refs = sorted(n for b in doc.blocks for n in b.footnote_refs)
    assert refs == list(range(2, 71))
    first = next(b for b in doc.blocks if 2 in b.footnote_refs)
    assert first.footnote_refs == [2, 3, 4]
    assert "citoyens de l’Union européenne. C’est pourquoi" in first.text
    # "numérique[footnoteRef:33] . La" in the source
    assert any("éducation numérique. La stratégie" in b.text for b in doc.blocks)
    for block in doc.blocks:
        for number, at in zip(block.footnote_refs, block.footnote_ref_offsets, strict=True):
            assert block.start <= at <= block.end, number
    # a note cited by a heading
    heading = next(b for b in doc.blocks if b.text.startswith("Faits et chiffres clés"))
    assert heading.kind == "heading" and heading.footnote_refs == [16]


def test_every_heading_recovered_in_the_section_tree():
    doc = plan()
    raw = PLAN.read_text(encoding="utf-8").splitlines()
    expected = [line.strip() for line in raw if re.match(r"^(\d|I|II|III|IV|V)\.\s", line)]
    assert len(expected) == 15
    headings = [b for b in doc.blocks if b.kind == "heading"]
    assert [b.text for b in headings if re.match(r"^(\d|I|II|III|IV|V)\.\s", b.text)] == expected
    assert (
        "IV.  Renforcer l’utilisation de nouvelles technologies et d’outils numériques pour l’intégration et l’inclusion"
        in expected
    )
    assert (
        "II. Davantage de possibilités de financement européen au titre du cadre financier pluriannuel 2021-2017"
        in expected
    )
    levels = {b.text: len(b.section_path) for b in headings}
    assert levels["6. Conclusions"] == 1
    assert levels["III. Santé"] == 2
    sub = [b for b in headings if b.text.startswith("Qu’entend faire la Commission")]
    assert len(sub) == 9 and all(len(b.section_path) == 3 for b in sub)


def test_section_paths_nest_roman_under_numbered():
    doc = plan()
    block = next(b for b in doc.blocks if b.text.startswith("Pour le cadre financier pluriannuel 2021-2027"))
    assert block.section_path == [
        "5. Mesures à l’appui d’une intégration et d’une inclusion efficaces dans tous les domaines sectoriels",
        "II. Davantage de possibilités de financement européen au titre du cadre financier pluriannuel 2021-2017",
    ]
    bullet = next(b for b in doc.blocks if b.text.startswith("· Organiser des échanges réguliers"))
    assert bullet.kind == "bullet"
    assert bullet.section_path[1:] == [
        "II. Davantage de possibilités de financement européen au titre du cadre financier pluriannuel 2021-2017",
        "Qu’entend faire la Commission pour contribuer à la réalisation de ces objectifs?",
    ]
    facts = next(
        b
        for b in doc.blocks
        if b.section_path[-1:]
        == ["Faits et chiffres clés concernant l’intégration et l’inclusion (UE-27, 2019)"]
    )
    assert facts.section_path[0].startswith("2. Enseignements tirés")
    # "5." closes the roman sections of "4."
    conclusions = next(b for b in doc.blocks if b.section_path == ["6. Conclusions"] and b.kind != "heading")
    assert conclusions.kind == "paragraph"


def test_offsets_round_trip():
    doc = plan()
    for block in doc.blocks:
        assert doc.clean_text[block.start : block.end] == block.text
    for note in doc.footnotes.values():
        assert doc.clean_text[note.start : note.end] == note.text
    notes_area = doc.clean_text[doc.blocks[-1].end :]
    assert notes_area.startswith("\n\nNotes\n\n2. L’expression")


def test_empty_and_whitespace_files_are_refused(tmp_path: Path):
    for content in (b"", b"  \n\t\n", "\ufeff \n".encode()):
        path = tmp_path / "vide.txt"
        path.write_bytes(content)
        with pytest.raises(EmptyDocument, match="empty"):
            read_word_text(path)
    only_markup = tmp_path / "markup.txt"
    only_markup.write_text("[bookmark: x]\n[image: ]\n", encoding="utf-8")
    with pytest.raises(EmptyDocument):
        read_word_text(only_markup)


def test_latin1_export_is_decoded(tmp_path: Path):
    path = tmp_path / "latin1.txt"
    text = "Intégration des réfugiés\n1. Première partie\nLe réseau européen[footnoteRef:2] se réunit à Bruxelles.  [2: Voir l'été 2016.]\n"
    path.write_bytes(text.encode("latin-1"))
    doc = read_word_text(path)
    assert doc.title == "Intégration des réfugiés"
    assert doc.footnotes[2].text == "Voir l'été 2016."
    assert "Le réseau européen se réunit à Bruxelles." in doc.clean_text


def test_utf8_bom_is_dropped(tmp_path: Path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffTitre\nTexte du document.\n".encode())
    assert read_word_text(path).title == "Titre"


def test_binary_garbage_is_refused(tmp_path: Path):
    path = tmp_path / "binaire.txt"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(EncodingError, match="UTF-8"):
        read_word_text(path)
    path.write_bytes(b"\x00\x01\x02\x03\x04\x05\x06 text \x07\x08\x0e\x0f" * 10)  # valid UTF-8, still binary
    with pytest.raises(EncodingError):
        read_word_text(path)
