"""The web page reader on the real networks page, and the plain-text / Markdown reader."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ingest.models import ParsedDocument
from ingest.web_reader import looks_like_web_page, read_plain_text, read_web_page
from tests.conftest import CORPUS

WEB = CORPUS / "reseaux-cooperation-ue-integration-migrants.txt"
TITLE = "Les réseaux de coopération de l’UE pour l’intégration des migrants"
NETWORKS = [
    "Le réseau européen d’Intégration",
    "Forum européen sur la migration",
    "Partenariat de l’Agenda Urbain pour l’inclusion des migrants et réfugiés",
]


@cache
def page() -> ParsedDocument:
    return read_web_page(WEB)


def test_title_is_the_full_h1_not_the_truncated_tab_title():
    doc = page()
    assert doc.title == TITLE
    assert doc.doc_id == "reseaux-cooperation-ue-integration-migrants"
    assert doc.source_format == "web"
    assert "Commission Européenne" not in doc.clean_text
    assert "l’i..." not in doc.clean_text


def test_three_networks_three_sections_under_the_page_title():
    doc = page()
    headings = [b for b in doc.blocks if b.kind == "heading"]
    assert [b.text for b in headings] == [TITLE, *NETWORKS]
    sections = {tuple(b.section_path) for b in doc.blocks if b.kind != "heading"}
    assert sections == {(TITLE,), *((TITLE, n) for n in NETWORKS)}
    intro = [b for b in doc.blocks if b.kind == "paragraph" and b.section_path == [TITLE]]
    assert len(intro) == 1 and intro[0].text.startswith("L’apprentissage mutuel entre les acteurs compétents")
    forum = [b.text for b in doc.blocks if b.section_path == [TITLE, NETWORKS[1]] and b.kind == "paragraph"]
    assert len(forum) == 5 and forum[0].startswith("Le Forum européen sur la migration (FEM)")


def test_navigation_noise_is_dropped():
    text = page().clean_text
    for noise in ("Navigation path", "Read more", "Members"):
        assert noise not in text


def test_offsets_round_trip():
    doc = page()
    for block in doc.blocks:
        assert doc.clean_text[block.start : block.end] == block.text
    assert not doc.footnotes


def test_web_page_detection():
    assert looks_like_web_page(WEB.read_text(encoding="utf-8"))
    assert not looks_like_web_page("Titre\n\nUn paragraphe de texte ordinaire.\n")


def test_plain_text_paragraphs_are_separated_by_blank_lines(tmp_path: Path):
    path = tmp_path / "note-interne.txt"
    path.write_text(
        "Note sur le financement\n\n"
        "Le FSE+ soutient l’intégration\ndes migrants, ligne coupée.\n\n"
        "Priorités\n\n"
        "· première priorité;\n· seconde priorité.\n",
        encoding="utf-8",
    )
    doc = read_plain_text(path)
    assert doc.title == "Note sur le financement"
    body = [(b.kind, b.text, b.section_path) for b in doc.blocks if b.kind != "heading"]
    assert body == [
        (
            "paragraph",
            "Le FSE+ soutient l’intégration des migrants, ligne coupée.",
            ["Note sur le financement"],
        ),
        ("bullet", "· première priorité;", ["Note sur le financement", "Priorités"]),
        ("bullet", "· seconde priorité.", ["Note sur le financement", "Priorités"]),
    ]
    for block in doc.blocks:
        assert doc.clean_text[block.start : block.end] == block.text


def test_markdown_headings(tmp_path: Path):
    path = tmp_path / "guide.md"
    path.write_text(
        "# Guide\n\nIntro.\n\n## Partie A\n\nTexte A.\n\n### Détail\n\nTexte détaillé.\n", encoding="utf-8"
    )
    doc = read_plain_text(path)
    assert doc.title == "Guide"
    paths = {b.text: b.section_path for b in doc.blocks if b.kind == "paragraph"}
    assert paths == {
        "Intro.": ["Guide"],
        "Texte A.": ["Guide", "Partie A"],
        "Texte détaillé.": ["Guide", "Partie A", "Détail"],
    }


def test_plain_text_without_a_title_line_uses_the_file_name(tmp_path: Path):
    path = tmp_path / "compte_rendu.txt"
    path.write_text(
        "Une seule phrase longue qui n’a rien d’un titre, puisqu’elle se termine par un point.\n",
        encoding="utf-8",
    )
    doc = read_plain_text(path)
    assert doc.title == "compte rendu"
    assert [b.kind for b in doc.blocks] == ["heading", "paragraph"]
