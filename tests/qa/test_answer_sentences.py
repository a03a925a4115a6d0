"""Which sentences the extractive answer is made of: continuations, footnotes, sources."""

from __future__ import annotations

import pytest

from ingest.models import Passage
from qa.answer import ExtractiveAnswerer, ScoredSentence, is_reference
from qa.answer_types import asks_for_purpose, asks_for_source, gives_purpose


def _scored(passage: str, text: str, start: int, score: float) -> ScoredSentence:
    return ScoredSentence(text, 1, passage, start, start + len(text), score, 0.0, score)


def test_footnotes_come_after_claims_unless_the_question_asks_for_a_source() -> None:
    claim = _scored("p1", "Les migrants occupent davantage de postes impliquant des contacts.", 0, 0.88)
    note = _scored("p2", "Voir: OCDE (2020), What is the impact of the COVID-19 pandemic?", 0, 0.90)
    note.preference = -0.03
    answerer = ExtractiveAnswerer(keep_within=0.0)
    ordered = sorted([note, claim], key=lambda s: s.rank_key, reverse=True)
    assert [s.text for s in answerer.select(ordered)] == [claim.text]


def test_the_footnote_preference_does_not_change_the_decision() -> None:
    """How far the sentence giving the figure is below the best reads the scores, not the
    order shown: a footnote moved down does not make a question unanswerable."""
    claim = _scored("p1", "La part des migrants a augmenté.", 0, 0.880)
    note = _scored("p2", "Eurostat, 2019: 8 % de la population.", 0, 0.890)
    note.preference = -0.05
    _, gap = ExtractiveAnswerer.lead_with("quantity", [claim, note])
    assert gap == pytest.approx(0.0)


@pytest.mark.parametrize(
    "question",
    [
        "D’où vient le chiffre d’environ 34 millions de résidents nés hors de l’UE ?",
        "What is the source for the claim that over a quarter of migrants are highly educated?",
        "Worauf stützt sich die Aussage, dass fast 40 % der Migranten überqualifiziert sind?",
        "¿Dónde se pueden consultar los resultados de las consultas?",
        "Skąd pochodzi informacja, że 61% Europejczyków uważa się za słabo poinformowanych?",
        "Waar vind ik de Eurostat-statistieken over de integratie van migranten?",
        "Quale studio della FRA riguarda la partecipazione dei migranti?",
    ],
)
def test_questions_asking_for_a_source(question: str) -> None:
    assert asks_for_source(question)


@pytest.mark.parametrize(
    "question",
    [
        "Pourquoi les travailleurs immigrés ont-ils couru un risque plus élevé ?",
        "Can the Asylum and Migration Fund pay for inclusion measures?",
        "Quand le forum s’est-il réuni pour la première fois ?",
    ],
)
def test_questions_not_asking_for_a_source(question: str) -> None:
    assert not asks_for_source(question)


def test_the_gap_reads_the_best_scored_sentence_giving_the_fact() -> None:
    best = _scored("p1", "La part des migrants a augmenté.", 0, 0.880)
    note = _scored("p2", "Eurostat, 2019: 8 % de la population.", 0, 0.875)
    note.preference = -0.05
    other = _scored("p3", "Le taux était de 12 % en 2018.", 0, 0.850)
    ordered = sorted([best, note, other], key=lambda s: s.rank_key, reverse=True)
    lead, gap = ExtractiveAnswerer.lead_with("quantity", ordered)
    assert lead[0] is other  # shown first: the note comes after the claims
    assert gap == pytest.approx(0.005)  # decided on the note's score, as without the preference


def _footnote(text: str, urls: list[str] | None = None) -> Passage:
    return Passage(
        id="n1", doc_id="d", title="t", kind="footnote", section_path=[], order=1,
        start=0, end=len(text), text=text, embed_text=text, urls=urls or [],
    )  # fmt: skip


def test_footnotes_that_point_to_a_publication() -> None:
    assert is_reference(_footnote("Voir: OCDE, «Quel impact a eu la pandémie ?»"))
    assert is_reference(_footnote("JRC (2020), Migration in EU Rural Areas."))
    assert is_reference(
        _footnote("Les résultats sont disponibles: https://ec.europa.eu/x", ["https://ec.europa.eu/x"])
    )
    # a definition or a figure says something itself: shown by its similarity alone
    assert not is_reference(_footnote("On entend par «personnes LGBTIQ», les personnes qui…"))
    assert not is_reference(
        _footnote("26,8 % des adultes nés hors de l’UE avaient un niveau élevé d’éducation en 2019.")
    )


@pytest.mark.parametrize(
    "question",
    [
        "Dans quel but la Commission a-t-elle constitué un comité d’experts ?",
        "Pourquoi l’apprentissage de la langue compte-t-il ?",
        "What is the Radicalisation Awareness Network for?",
        "Zu welchem Zweck will die Kommission die Urban Academy ausbauen?",
        "A che cosa serve il premio per l’integrazione?",
        "¿Para qué pondrá en marcha la Comisión una plataforma en línea?",
        "Para que serve o instrumento de assistência técnica?",
        "Met welk doel richt de Commissie een deskundigengroep op?",
        "W jakim celu Komisja uruchomi platformę internetową?",
    ],
)
def test_questions_asking_why_or_what_for(question: str) -> None:
    assert asks_for_purpose(question)


@pytest.mark.parametrize(
    "question",
    [
        "Quand le forum s’est-il réuni pour la première fois ?",
        "¿Qué medidas propone el plan para que los migrantes aprendan la lengua?",
        "Which funds support the integration of migrants?",
    ],
)
def test_questions_not_asking_why(question: str) -> None:
    assert not asks_for_purpose(question)


def test_sentences_giving_a_purpose() -> None:
    assert gives_purpose("Renforcer l’académie urbaine pour en faire un programme global de formation.")
    assert gives_purpose("Il permet aux gouvernements de partager des informations.")
    assert gives_purpose("Une plateforme sera lancée afin de suivre les progrès réalisés.")
    assert not gives_purpose("Le réseau européen d’intégration a tenu sa première réunion en 2016.")


def test_a_purpose_sentence_leads_the_answer_to_a_why_question_but_not_the_decision() -> None:
    """The bonus is a preference (the order shown), so a question is refused or answered
    on the same scores with or without it."""
    topic = _scored("p1", "La Commission renforcera l’académie urbaine pour l’intégration.", 0, 0.880)
    purpose = _scored("p2", "Elle sera étendue pour en faire un programme de formation.", 0, 0.862)
    purpose.preference = ExtractiveAnswerer().purpose_bonus
    answerer = ExtractiveAnswerer(keep_within=0.0)
    ordered = sorted([topic, purpose], key=lambda s: s.rank_key, reverse=True)
    assert answerer.select(ordered)[0] is purpose
    assert answerer.signals([], ordered)["best_sentence"] == pytest.approx(0.880)
