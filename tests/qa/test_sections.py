"""Issue #16: "under which heading does the plan deal with X" is answered with that heading,
found through the body passages retrieved for X and cited from the document's outline."""

from __future__ import annotations

from index.types import Hit
from ingest.models import Passage
from qa.answer import ExtractiveAnswerer, ScoredSentence
from qa.sections import SectionLocator, outline_headings

CHAPTER = "5. Mesures transversales"
OUTLINE = Passage(
    id="d:outline-5", doc_id="d", title="Plan", kind="outline", section_path=[CHAPTER], order=99,
    start=0, end=10, embed_text="",
    text=f"Plan de la section : {CHAPTER}\nI. Partenariats\nII. Financement\nIII. Participation",
)  # fmt: skip
DOCUMENT_OUTLINE = Passage(
    id="d:outline-doc", doc_id="d", title="Plan", kind="outline", section_path=[], order=98,
    start=0, end=10, embed_text="", text=f"Plan du document : Plan\n1. Contexte\n{CHAPTER}",
)  # fmt: skip


def _hit(rank: int, *path: str, kind: str = "passage") -> Hit:
    passage = Passage(
        id=f"p{rank}", doc_id="d", title="Plan", kind=kind, section_path=list(path), order=rank,
        start=0, end=10, text=f"Passage {rank}.", embed_text="",
    )  # fmt: skip
    return Hit(passage=passage, score=1.0 / rank, rank=rank)


def _outlines(doc_id: str) -> list[Passage]:
    return [DOCUMENT_OUTLINE, OUTLINE] if doc_id == "d" else []


def test_outline_headings_skip_the_outline_s_own_title() -> None:
    assert outline_headings(OUTLINE) == ["I. Partenariats", "II. Financement", "III. Participation"]


def test_the_heading_most_of_the_first_hits_sit_under_wins_and_its_outline_comes_first() -> None:
    generic = "Qu’entend faire la Commission ?"  # repeated in every section: in no outline
    hits = [
        _hit(1, CHAPTER, "I. Partenariats", generic),  # one passage mentions it in passing
        _hit(2, CHAPTER, "III. Participation"),
        _hit(3, CHAPTER, "III. Participation", generic),
        _hit(4, "1. Contexte"),
        _hit(5, CHAPTER, "III. Participation"),
    ]
    arranged, location = SectionLocator(_outlines).arrange(hits)
    assert location is not None and location.heading == "III. Participation"
    assert arranged[0].passage.id == OUTLINE.id and arranged[0].score == 0.0
    assert arranged[0].rank == 6  # not retrieved: ranked below every retrieved passage
    assert [h.passage.id for h in arranged[1:]] == [h.passage.id for h in hits]


def test_a_retrieved_outline_moves_up_and_a_tie_goes_to_the_better_ranked_hit() -> None:
    outline = Hit(passage=OUTLINE, score=0.1, rank=3)
    hits = [_hit(1, "1. Contexte"), _hit(2, CHAPTER, "II. Financement"), outline]
    arranged, location = SectionLocator(_outlines).arrange(hits)
    assert location is not None and location.heading == "1. Contexte"  # chapter 1 has no sub-headings
    assert location.outline.id == DOCUMENT_OUTLINE.id and arranged[0].passage.id == DOCUMENT_OUTLINE.id
    hits = [_hit(1, CHAPTER, "II. Financement"), _hit(2, "1. Contexte"), outline]
    arranged, location = SectionLocator(_outlines).arrange(hits)
    assert location is not None and location.heading == "II. Financement"
    assert arranged[0] is outline and len(arranged) == 3


def test_no_heading_found_leaves_the_hits_as_they_are() -> None:
    hits = [_hit(1, "Annexe"), _hit(2)]
    assert SectionLocator(_outlines).arrange(hits) == (hits, None)
    assert SectionLocator(lambda doc_id: []).arrange([_hit(1, CHAPTER)]) == ([_hit(1, CHAPTER)], None)


def test_the_answer_is_the_heading_then_the_best_sentence_under_it() -> None:
    hits = [
        _hit(1, CHAPTER, "I. Partenariats"),
        _hit(2, CHAPTER, "III. Participation"),
        _hit(3, CHAPTER, "III. Participation"),
    ]
    _, location = SectionLocator(_outlines).arrange(hits)
    assert location is not None

    def scored(text: str, marker: int, hit: Hit, score: float) -> ScoredSentence:
        return ScoredSentence(text, marker, hit.passage.id, 0, len(text), score, 0.0, score, 0.0)

    sentences = [
        scored("Partenariats locaux.", 2, hits[0], 0.9),  # under I.
        scored("Rencontres entre migrants et habitants.", 3, hits[1], 0.88),  # under III.
    ]
    heading, under = ExtractiveAnswerer.located(location, sentences, hits)
    assert (heading.text, heading.marker, heading.passage_id) == ("III. Participation", 1, OUTLINE.id)
    assert OUTLINE.text[heading.start : heading.end] == heading.text  # an exact quote of the outline
    assert under.text == "Rencontres entre migrants et habitants."
