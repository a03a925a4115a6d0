"""Dispatch by file type, uploads in memory, the corpus listing rule and sources.json metadata."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.errors import EmptyDocument, EncodingError, UnsupportedFileType
from ingest.pipeline import iter_corpus, load_sources, parse_and_chunk
from ingest.readers import SUPPORTED, read_bytes, read_document
from tests.conftest import CORPUS

PLAN = CORPUS / "plan-action-integration-inclusion-2021-2027.txt"
WEB = CORPUS / "reseaux-cooperation-ue-integration-migrants.txt"
PDF = CORPUS / "pdf" / "plan-action-integration-inclusion-2021-2027.pdf"


def test_text_files_dispatch_on_their_content(tmp_path: Path):
    assert read_document(PLAN).source_format == "text" and len(read_document(PLAN).footnotes) == 69
    assert read_document(WEB).source_format == "web"
    plain = tmp_path / "note.txt"
    plain.write_text("Note\n\nUn paragraphe.\n", encoding="utf-8")
    doc = read_document(plain)
    assert doc.source_format == "text" and doc.title == "Note" and not doc.footnotes
    md = tmp_path / "note.md"
    md.write_text("# Titre\n\nTexte avec [1: crochets] qui n’est pas une note Word.\n", encoding="utf-8")
    assert read_document(md).title == "Titre" and not read_document(md).footnotes


def test_uploads_are_read_from_bytes():
    doc = read_bytes(PLAN.read_bytes(), "plan.txt")
    assert doc.doc_id == "plan" and doc.source_format == "text" and len(doc.footnotes) == 69
    assert read_bytes(WEB.read_bytes(), "page.txt", doc_id="page").doc_id == "page"
    assert read_bytes(b"Titre\n\nTexte.", "../../etc/x.md").doc_id == "x"


def test_unsupported_types_are_refused_with_the_supported_list():
    for name in ("rapport.docx", "archive", "image.PNG"):
        with pytest.raises(UnsupportedFileType) as info:
            read_bytes(b"PK\x03\x04", name)
        assert all(ext in str(info.value) for ext in SUPPORTED)
    with pytest.raises(UnsupportedFileType):
        read_document(Path("/nonexistent/tableau.xlsx"))


def test_bad_text_uploads(tmp_path: Path):
    with pytest.raises(EmptyDocument):
        read_bytes(b"  \n", "vide.txt")
    with pytest.raises(EncodingError, match="UTF-8"):
        read_bytes(bytes(range(256)) * 8, "binaire.txt")
    latin1 = "Réseaux d'intégration\n\nLe réseau européen d'intégration se réunit à Bruxelles, l'été."
    assert "réseau européen d'intégration" in read_bytes(latin1.encode("latin-1"), "l.txt").clean_text
    cp1252 = "Réseaux d’intégration\n\nLe réseau européen d’intégration se réunit à Bruxelles, l’été."
    assert "réseau européen d’intégration" in read_bytes(cp1252.encode("cp1252"), "w.txt").clean_text
    empty = tmp_path / "vide.md"
    empty.write_bytes(b"")
    with pytest.raises(EmptyDocument):
        read_document(empty)


def test_a_stray_control_character_is_dropped_not_indexed():
    """A few control characters do not make a file binary, but they are not text either
    (found by tests/test_properties.py: b"x\\n\\n\\x00:" left a NUL in a passage)."""
    doc = read_bytes(b"Le FSE+ finance\x00 la formation.\n\n\x00:", "note.txt")
    assert "\x00" not in doc.clean_text
    assert "Le FSE+ finance la formation." in doc.clean_text


def test_corpus_listing_takes_the_text_version_and_the_pdf_only_when_asked():
    assert [p.name for p in iter_corpus(CORPUS)] == [PLAN.name, WEB.name]
    assert PDF in iter_corpus(CORPUS, include_alternates=True)


def test_alternate_is_indexed_when_its_main_version_is_missing(tmp_path: Path):
    (tmp_path / "pdf").mkdir()
    shutil.copy(CORPUS / "sources.json", tmp_path / "sources.json")
    shutil.copy(PDF, tmp_path / "pdf" / PDF.name)
    shutil.copy(WEB, tmp_path / WEB.name)
    (tmp_path / ".hidden.txt").write_text("x", encoding="utf-8")
    (tmp_path / "notes.csv").write_text("a,b", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in iter_corpus(tmp_path)] == [
        f"pdf/{PDF.name}",
        WEB.name,
    ]


def test_sources_json_describes_every_corpus_file():
    sources = load_sources(CORPUS)
    assert set(sources) == {PLAN.name, WEB.name, f"pdf/{PDF.name}"}
    for rel, entry in sources.items():
        assert (CORPUS / rel).is_file()
        assert entry["publisher"] == "Commission européenne" and entry["language"] == "fr"
        assert entry["licence"].startswith("© Union européenne")
        assert {"doc_id", "title", "date", "source_url", "format"} <= set(entry)
    plan = sources[PLAN.name]
    assert plan["reference"] == "COM(2020) 758 final" and plan["date"] == "2020-11-24"
    assert plan["source_url"] == "https://eur-lex.europa.eu/legal-content/FR/TXT/?uri=CELEX:52020DC0758"
    assert sources[f"pdf/{PDF.name}"]["alternate_of"] == plan["doc_id"]
    assert json.loads((CORPUS / "sources.json").read_text(encoding="utf-8"))["documents"]


def test_parse_and_chunk_attaches_the_source_metadata():
    doc, passages = parse_and_chunk(WEB)
    assert doc.metadata["source_url"] == "https://ec.europa.eu/migrant-integration/le-role-de-lue/reseaux"
    assert doc.metadata["publisher"] == "Commission européenne"
    assert passages and all(p.doc_id == doc.doc_id for p in passages)


def test_a_file_named_like_an_upload_never_takes_an_uploads_id(tmp_path: Path):
    """Uploads are ``upload-<name>``: a corpus file ``upload-notes.txt`` must not share the id
    of an upload of ``notes.txt`` (either would replace the other)."""
    from qa.uploads import upload_doc_id

    path = tmp_path / "upload-notes.txt"
    path.write_text("Le Fonds social européen plus soutient l’intégration des migrants.\n", encoding="utf-8")
    doc, passages = parse_and_chunk(path)
    assert doc.doc_id == "file-upload-notes" != upload_doc_id("notes.txt")
    assert all(p.doc_id == doc.doc_id for p in passages)
    assert parse_and_chunk(path, doc_id="upload-notes")[0].doc_id == "upload-notes"  # an upload's own
