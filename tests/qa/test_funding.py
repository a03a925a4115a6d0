"""Funding questions: detected in the languages users ask in, answered with every fund named."""

from __future__ import annotations

import pytest

from ingest.models import Passage
from qa.answer import ExtractiveAnswerer, ScoredSentence
from qa.funding import asks_about_funding, fund_mentions
from qa.results import Citation, CitedPassage


@pytest.mark.parametrize(
    "question",
    [
        "Quels fonds européens soutiennent l’intégration des migrants ?",
        "Which programmes fund language courses for migrants?",
        "Welche Förderung gibt es für die Integration?",
        "Quali fondi sostengono l’inclusione?",
        "Jakie fundusze wspierają integrację migrantów?",
        "¿Qué financiación existe para la vivienda?",
        "Que finance le FSE+ ?",
        "What does the ERDF pay for?",  # names a fund
    ],
)
def test_funding_questions_are_recognised(question: str) -> None:
    assert asks_about_funding(question)


@pytest.mark.parametrize(
    "question",
    [
        "Quels sont les droits fondamentaux des migrants ?",  # "fond..." is not "fonds"
        "What are the fundamental rights at stake?",
        "Quand le plan d’action a-t-il été adopté ?",
        "Wer leitet das Europäische Integrationsnetzwerk?",
    ],
)
def test_other_questions_are_not(question: str) -> None:
    assert not asks_about_funding(question)


def _cited(marker: int, funds: list[str]) -> CitedPassage:
    passage = Passage(
        id=f"p{marker}", doc_id="d", title="t", kind="passage", section_path=[], order=marker,
        start=0, end=1, text="x", embed_text="x", funds=funds,
    )  # fmt: skip
    return CitedPassage(
        marker=marker,
        id=passage.id,
        kind="passage",
        text="x",
        score=1.0,
        citation=Citation.of(passage),
        funds=funds,
    )


def test_mentions_list_each_fund_once_most_cited_first_with_the_label_readers_know() -> None:
    passages = [
        _cited(1, ["amf", "esf_plus"]),
        _cited(2, ["erasmus_plus"]),
        _cited(3, ["esf_plus", "amf", "erdf"]),
    ]
    mentions = fund_mentions(passages)
    assert [(m.fund, m.markers) for m in mentions] == [
        ("FAM", [1, 3]),
        ("FSE+", [1, 3]),
        ("Erasmus+", [2]),
        ("FEDER", [3]),
    ]
    assert mentions[1].id == "esf_plus" and mentions[1].name == "Fonds social européen plus"
    assert fund_mentions([_cited(1, ["not-a-fund"])]) == []


def _sentence(text: str, marker: int, score: float) -> ScoredSentence:
    return ScoredSentence(text, marker, f"p{marker}", 0, len(text), score, 0.0, score)


def test_a_funding_answer_adds_sentences_naming_the_other_funds() -> None:
    scored = [
        _sentence("L’intégration pourrait être financée au titre du FSE+.", 1, 0.90),
        _sentence("Le plan soutient l’inclusion des migrants dans les villes.", 2, 0.87),
        _sentence("Les investissements du FAM et du FEDER devraient être complémentaires.", 2, 0.86),
        _sentence("Le FSE+ finance aussi la formation.", 3, 0.85),  # no fund the answer lacks
        _sentence("Erasmus+ soutient les échanges.", 4, 0.70),  # too far below the best
    ]
    answerer = ExtractiveAnswerer()
    plain = [s.text for s in answerer.select(scored)]
    assert plain == [scored[0].text]
    funding = [s.text for s in answerer.select(scored, funding=True)]
    assert funding == [scored[0].text, scored[2].text]
