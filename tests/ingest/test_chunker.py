"""Chunking the real corpus: sections, sizes, offsets, ids, footnotes both ways, enrichment."""

from __future__ import annotations

import re
from functools import cache

from ingest.chunker import DEFAULT_MAX_CHARS, chunk_document, split_sentences
from ingest.models import ParsedDocument, Passage
from ingest.pipeline import parse_and_chunk
from ingest.text_reader import read_word_text
from tests.conftest import CORPUS

PLAN = CORPUS / "plan-action-integration-inclusion-2021-2027.txt"
WEB = CORPUS / "reseaux-cooperation-ue-integration-migrants.txt"
MARKERS = re.compile(r"\[footnoteRef|\[bookmark|\[image|\[\d+:")
FUNDING = (
    "II. Davantage de possibilités de financement européen au titre du cadre financier pluriannuel 2021-2017"
)


@cache
def plan() -> tuple[ParsedDocument, list[Passage]]:
    return parse_and_chunk(PLAN)


@cache
def web() -> tuple[ParsedDocument, list[Passage]]:
    return parse_and_chunk(WEB)


def body(passages: list[Passage]) -> list[Passage]:
    return [p for p in passages if p.kind == "passage"]


def test_offsets_round_trip_and_embed_text_adds_context_only():
    for doc, passages in (plan(), web()):
        for p in passages:
            if p.kind == "outline":  # its text is the list of headings, not one span
                continue
            assert doc.clean_text[p.start : p.end] == p.text
            assert p.embed_text.endswith("\n\n" + p.text)
            assert p.embed_text.startswith(doc.title)
    p = next(p for p in body(plan()[1]) if p.section_path[1:2] == [FUNDING])
    assert p.embed_text.startswith(f"{plan()[0].title} > 5. Mesures à l’appui")
    assert f" > {FUNDING}\n\n" in p.embed_text


def test_no_marker_left_in_any_passage():
    for _, passages in (plan(), web()):
        for p in passages:
            assert not MARKERS.search(p.text), p.text[:120]
            assert not MARKERS.search(p.embed_text)


def test_passages_stay_in_one_section_and_within_the_size():
    for doc, passages in (plan(), web()):
        for p in body(passages):
            inside = [b for b in doc.blocks if b.start < p.end and b.end > p.start]
            assert {tuple(b.section_path) for b in inside} == {tuple(p.section_path)}
            assert all(b.kind != "heading" for b in inside)  # headings live in section_path only
            assert len(p.text) <= DEFAULT_MAX_CHARS or len(split_sentences(p.text)) == 1


def test_every_body_block_is_in_exactly_one_passage():
    doc, passages = plan()
    spans = [(p.start, p.end) for p in body(passages)]
    for block in doc.blocks:
        if block.kind == "heading":
            continue
        covering = [s for s in spans if s[0] < block.end and s[1] > block.start]
        assert covering, block.text[:80]
        assert sum(min(e, block.end) - max(s, block.start) for s, e in covering) >= len(
            block.text.strip()
        ) - 5 * (len(covering) - 1)


def test_a_bullet_list_stays_with_its_lead_in_when_it_fits():
    _, passages = plan()
    lead_in = "Dans le cadre de l’utilisation des fonds de l’UE en faveur de l’intégration, les États membres sont encouragés à:"
    lead = next(p for p in body(passages) if lead_in in p.text)
    assert lead.text.startswith(lead_in)
    assert "\n\n· utiliser pleinement les fonds de l’UE" in lead.text
    # a lead-in whose list goes on in the next passage opens its passage
    doc = plan()[0]
    following = {id(a): b for a, b in zip(doc.blocks, doc.blocks[1:], strict=False)}
    for p in body(passages):
        inside = [b for b in doc.blocks if p.start <= b.start and b.end <= p.end]
        after = following.get(id(inside[-1])) if inside else None
        if after is None or after.kind != "bullet" or inside[-1].kind != "bullet":
            continue  # the passage does not end inside a list
        lead_ins = [k for k, b in enumerate(inside) if b.kind == "paragraph"]
        assert not lead_ins or lead_ins[-1] == 0, (
            f"lead-in {inside[lead_ins[-1]].text[:60]!r} cut from its list"
        )
    small = chunk_document(read_word_text(PLAN), max_chars=300)
    assert all(len(p.text) <= 300 or len(split_sentences(p.text)) == 1 for p in body(small))


def test_ids_are_stable_unique_and_content_addressed():
    import hashlib

    _, first = plan()
    again = chunk_document(read_word_text(PLAN))
    assert [p.id for p in first] == [p.id for p in again]
    assert len({p.id for p in first}) == len(first)
    for p in body(first):
        assert p.id.split("-")[0:5] and p.id.startswith(
            f"{p.doc_id}:{hashlib.sha1(p.text.encode()).hexdigest()[:12]}"
        )
    assert [p.order for p in first] == list(range(len(first)))


def test_every_footnote_is_a_passage_attached_to_the_passage_that_cites_it():
    doc, passages = plan()
    bodies = {p.id: p for p in body(passages)}
    notes = {p.footnote_number: p for p in passages if p.kind == "footnote"}
    assert sorted(notes) == list(range(2, 71))
    for number, note in notes.items():
        assert note.text == doc.footnotes[number].text
        assert (note.start, note.end) == (doc.footnotes[number].start, doc.footnotes[number].end)
        assert note.cited_by, f"note {number} is cited by no passage"
        for pid in note.cited_by:
            citing = bodies[pid]
            cited = {f.number: f for f in citing.footnotes}
            assert cited[number].text == note.text
        assert note.section_path == [*bodies[note.cited_by[0]].section_path, f"Note {number}"]
    # the note goes to the passage holding its marker, even in a paragraph cut in two
    employers = next(p for p in body(passages) if "Employeurs unis pour l’intégration" in p.text)
    assert 41 in [f.number for f in employers.footnotes]
    for block in doc.blocks:
        for number, at in zip(block.footnote_refs, block.footnote_ref_offsets, strict=True):
            if block.kind == "heading":
                continue
            holder = next(p for p in body(passages) if p.start <= at <= p.end)
            assert holder.id in notes[number].cited_by
            assert notes[number].cited_by == [holder.id]
    cut = [
        b
        for b in doc.blocks
        if b.footnote_refs and not any(p.start <= b.start and b.end <= p.end for p in body(passages))
    ]
    assert cut, "no cited paragraph was cut: the check above proves nothing"
    # a note cited in a heading goes to the first passage under it
    facts = next(
        p
        for p in body(passages)
        if p.section_path[-1:] and p.section_path[-1].startswith("Faits et chiffres")
    )
    assert [f.number for f in facts.footnotes][:1] == [16]


def test_urls_legal_refs_and_funds_come_from_text_and_footnotes():
    _, passages = plan()
    notes = {p.footnote_number: p for p in passages if p.kind == "footnote"}
    toolkit = (
        "https://ec.europa.eu/regional_policy/fr/information/publications/guides/2018/"
        "toolkit-on-the-use-of-eu-funds-for-the-integration-of-people-with-a-migrant-background"
    )
    assert notes[55].urls == [toolkit]
    citing_55 = next(p for p in passages if p.id in notes[55].cited_by)
    assert toolkit in citing_55.urls
    assert next(f for f in citing_55.footnotes if f.number == 55).urls == [toolkit]
    assert "Directive 2004/38/CE" in notes[3].legal_refs
    citing_3 = next(p for p in passages if p.id in notes[3].cited_by)
    assert "Directive 2004/38/CE" in citing_3.legal_refs
    assert "COM(2020) 565 final" in notes[20].legal_refs
    assert {"amf", "esf_plus", "erdf", "erasmus_plus", "eafrd"} <= set(citing_55.funds)
    assert any("esf_plus" in p.funds and "FSE+" in p.text for p in body(passages))


def test_language_and_pages_of_text_sources():
    for _, passages in (plan(), web()):
        assert {p.language for p in body(passages) if len(p.text) > 200} == {"fr"}
        assert all(p.source_path.endswith(".txt") for p in passages)
    # a text has no pages of its own: the plan's come from its PDF version (tests/ingest/test_pages.py)
    assert all(p.page_start is None and p.page_end is None for p in web()[1])
    assert all(p.page_start is not None for p in plan()[1])


def test_web_page_passages_follow_the_networks():
    doc, passages = web()
    sections = [p.section_path for p in body(passages)]
    assert sections[0] == [doc.title]
    assert {tuple(s[1:]) for s in sections} == {
        (),
        ("Le réseau européen d’Intégration",),
        ("Forum européen sur la migration",),
        ("Partenariat de l’Agenda Urbain pour l’inclusion des migrants et réfugiés",),
    }
    assert all(
        p.embed_text.startswith(doc.title + " > ") or p.section_path == [doc.title] for p in body(passages)
    )
    assert not any(p.kind == "footnote" for p in passages)


def test_funding_section_passages():
    _, passages = plan()
    funding = [p for p in body(passages) if p.section_path[1:2] == [FUNDING]]
    assert len(funding) >= 5
    assert all(p.section_path[0].startswith("5. Mesures à l’appui") for p in funding)
    assert any(
        p.section_path[2:]
        == ["Qu’entend faire la Commission pour contribuer à la réalisation de ces objectifs?"]
        for p in funding
    )
    assert funding[0].text.startswith("Soutenir l’action des États membres en matière d’intégration")
    assert "amf" in next(p for p in funding if "«Asile et migration» (FAM)" in p.text).funds


def test_outline_passages_list_the_chapters_and_their_sections():
    """ "What are the main areas of the plan": the answer is the list of headings."""
    doc, passages = plan()
    outlines = [p for p in passages if p.kind == "outline"]
    whole = next(p for p in outlines if not p.section_path)
    assert "4. Mesures dans les principaux domaines sectoriels" in whole.text
    assert "6. Conclusions" in whole.text
    chapter5 = next(p for p in outlines if p.section_path[:1] and p.section_path[0].startswith("5. "))
    assert "I. Établir des partenariats solides" in chapter5.text
    assert "V. Suivi des progrès" in chapter5.text
    assert "Qu’entend faire la Commission" not in chapter5.text  # repeated in every section
    assert all(p.embed_text.endswith(p.text) for p in outlines)


def test_a_footnote_is_embedded_with_the_sentence_that_calls_it():
    """A note's text rarely says what it is the source of; the calling sentence does."""
    doc, passages = plan()
    notes = {p.footnote_number: p for p in passages if p.kind == "footnote"}
    calling = next(p for p in body(passages) if 12 in [f.number for f in p.footnotes])
    note = notes[12]
    assert note.text == doc.footnotes[12].text  # shown as written
    context = note.embed_text[: -len(note.text)]
    assert "Note 12" in context
    sentence = context.split("\n\n")[1]
    assert sentence and sentence in calling.text
