"""Questions asking for a figure or a date, and sentences that give one (or only seem to)."""

from __future__ import annotations

import pytest

from index.types import Hit
from ingest.models import Passage
from qa.answer import ExtractiveAnswerer, ScoredSentence
from qa.answer_types import (
    arrange,
    asked_type,
    asks_for_location,
    asks_for_outline,
    gives,
    outline_first,
    source_first,
    typed_first,
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Combien de centres ENIC-NARIC existe-t-il dans l’Union ?", "quantity"),
        ("Quel est le taux de chômage des réfugiés ?", "quantity"),
        ("How much ESF+ money is ring-fenced for migrant integration?", "quantity"),
        ("What share of doctors are migrants?", "quantity"),
        ("Wie hoch ist die Armutsgefährdungsquote?", "quantity"),
        ("Quanti membri conta il gruppo di esperti?", "quantity"),
        ("¿Cuántos proyectos ha financiado la iniciativa?", "quantity"),
        ("Qual foi o orçamento do plano de ação de 2016?", "quantity"),
        ("Hoeveel geld trekt de Commissie uit?", "quantity"),
        ("Ile państw członkowskich należy do sieci?", "quantity"),
        ("Quand s’est tenue la première réunion du réseau ?", "date"),
        ("By when is the European Education Area supposed to be achieved?", "date"),
        ("Wann findet die Evaluierung statt?", "date"),
        ("Kiedy zostanie przyjęta europejska gwarancja dla dzieci?", "date"),
        # a deadline is a date; "a largo plazo" (in the long term) is not one
        ("¿Cuál es el plazo para presentar candidaturas al premio?", "date"),
        ("What is the deadline for applications to the award?", "date"),
        ("Quelle est la date limite de dépôt des candidatures ?", "date"),
        ("¿Cuáles son los objetivos a largo plazo del plan?", None),
        # who holds an office; "who coordinates" is answered with institutions, not checked
        ("Wer hat derzeit den Vorsitz im Europäischen Integrationsnetz?", "holder"),
        ("Qui est le commissaire chargé de la migration ?", "holder"),
        ("Quem preside ao Fórum Europeu sobre a Migração?", "holder"),
        ("Who chairs the European Migration Forum?", "holder"),
        ("Chi presiede il gruppo di esperti?", "holder"),
        ("Wer koordiniert die Partnerschaft der Städteagenda?", None),
        ("Qu’est-ce que le Forum européen sur la migration ?", None),
        ("Quels fonds soutiennent l’intégration ?", None),
        ("Why is integration more than a moral duty?", None),
    ],
)
def test_the_asked_for_fact_is_recognised(question: str, expected: str | None) -> None:
    assert asked_type(question) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "Environ 34 millions d’habitants de l’UE sont nés en dehors de l’UE.",
        "40,7 % pour les femmes migrantes en 2019.",
        "Le RAN rassemble plus de 6 000 intervenants de terrain.",
        "Près de la moitié des migrants ont un niveau d’études moyen ou faible.",
        "Le réseau compte 27 membres.",
    ],
)
def test_sentences_giving_a_figure(sentence: str) -> None:
    assert gives("quantity", sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Le plan d’action de 2016 a été évalué en 2020.",  # years
        "Pour la période 2021-2027, la Commission propose un fonds.",  # a period
        "chez les jeunes migrants (18-24 ans) nés en dehors de l’UE",  # an age range
        "les personnes nées en dehors de l’UE-28 et la COVID-19",  # parts of names
        "voir le document [SWD(2020) 290] et la recommandation C(2020) 6467 final",  # references
        "Le réseau a tenu sa première réunion les 11 et 12 octobre 2016.",  # days of a month
        "les ressortissants de pays tiers",  # "tiers" is not a fraction here
        "Voir la section 4.2 du plan.",
    ],
)
def test_sentences_that_only_seem_to_give_a_figure(sentence: str) -> None:
    assert not gives("quantity", sentence)


def test_dates() -> None:
    assert gives("date", "Le réseau s’est réuni pour la première fois en octobre.")
    assert gives("date", "Organisé en 2015, ce forum a pris la suite du précédent.")
    assert not gives("date", "Le forum est une plateforme de dialogue.")


def _sentence(text: str, score: float) -> ScoredSentence:
    return ScoredSentence(text, 1, "p1", 0, len(text), score, 0.0, score)


def test_the_sentence_giving_the_figure_leads_and_its_gap_is_measured() -> None:
    scored = [
        _sentence("Le réseau rassemble des praticiens de terrain.", 0.90),
        _sentence("Il compte plus de 6 000 membres.", 0.89),
    ]
    ordered, gap = ExtractiveAnswerer.lead_with("quantity", scored)
    assert ordered[0].text == scored[1].text and gap == pytest.approx(0.01)
    assert ExtractiveAnswerer.lead_with("date", scored) == (scored, None)


def test_sentences_naming_an_office_or_its_holder() -> None:
    assert gives("holder", "Le forum est coprésidé par la Commission et le CESE.")
    assert gives("holder", "Le groupe d’experts, présidé par la commissaire, s’est réuni.")
    assert not gives("holder", "Le forum est une plateforme de dialogue avec la société civile.")


def _hit(rank: int, text: str, kind: str = "passage") -> Hit:
    passage = Passage(
        id=f"p{rank}", doc_id="d", title="t", kind=kind, section_path=[], order=rank,
        start=0, end=len(text), text=text, embed_text=text,
    )  # fmt: skip
    return Hit(passage=passage, score=1.0 / rank, rank=rank)


def test_a_passage_giving_the_asked_for_fact_moves_ahead_within_the_top_three() -> None:
    hits = [
        _hit(1, "Le forum réunit la société civile."),
        _hit(2, "Le forum s’est réuni pour la première fois en janvier 2009."),
        _hit(3, "Le forum est une plateforme de dialogue."),
        _hit(4, "Le premier forum d’avril 2015 a été consacré au travail."),
    ]
    ordered = typed_first("Quand le forum s’est-il réuni pour la première fois ?", hits)
    assert [h.passage.id for h in ordered] == ["p2", "p1", "p3", "p4"]  # p4 stays below the window
    assert [h.rank for h in ordered] == [2, 1, 3, 4]  # the fused rank, which the answer step reads
    assert typed_first("Qu’est-ce que le forum ?", hits) == hits  # untyped: unchanged


@pytest.mark.parametrize(
    "question",
    [
        "Which cross-cutting areas of action does the plan set out?",
        "Auf welchen Grundsätzen und Werten baut der Aktionsplan auf?",
        "Sur quels principes repose le plan ?",
        "Quali aree d’azione trasversali individua il piano?",
    ],
)
def test_questions_about_the_structure(question: str) -> None:
    assert asks_for_outline(question) and not asks_for_location(question)


@pytest.mark.parametrize(
    "question",
    [
        "Sous quelle rubrique le plan aborde-t-il les échanges avec la population locale ?",
        "Pod jakim tytułem plan omawia monitorowanie postępów?",
        "W którym rozdziale plan omawia zdrowie?",
        "¿Qué apartado del capítulo de medidas transversales trata de la financiación?",
        "Que princípio do plano trata do apoio desde a chegada?",
        "Which section of the plan deals with health?",
        "Under which heading does the plan discuss housing?",
        "In welchem Kapitel geht es um Wohnraum?",
        "In welk hoofdstuk staat iets over huisvesting?",
        "Dans quelle partie du plan est-il question du logement ?",
    ],
)
def test_questions_asking_under_which_heading(question: str) -> None:
    """One heading, found through what it covers: not the list of headings."""
    assert asks_for_location(question) and not asks_for_outline(question)


@pytest.mark.parametrize(
    "question",
    [
        "¿Qué parte de los migrantes trabaja?",  # a share, not a part of the document
        "What part of the budget goes to housing?",
        "Quelle part des migrants est hautement qualifiée ?",
        "Quand le forum s’est-il réuni ?",
    ],
)
def test_shares_are_not_questions_about_the_structure(question: str) -> None:
    assert not asks_for_outline(question) and not asks_for_location(question)


def test_the_outline_moves_ahead_for_a_question_about_the_structure() -> None:
    hits = [_hit(i, f"Passage {i}.") for i in range(1, 12)]
    hits[6] = _hit(7, "Plan de la section : 3. Principes\nI. Soutien", kind="outline")
    hits[10] = _hit(11, "Plan du document : II. Financement", kind="outline")
    ordered = outline_first("Sur quels principes repose le plan ?", hits)
    assert [h.passage.id for h in ordered[:2]] == ["p7", "p1"]  # p11 stays below the window
    assert ordered[-1].passage.id == "p11" and ordered[0].rank == 7
    assert outline_first("Quand le forum s’est-il réuni ?", hits) == hits
    assert arrange("Quand le forum s’est-il réuni ?", hits) == hits


def test_the_footnote_moves_ahead_for_a_question_about_a_source() -> None:
    """The note holds the source; the body passage calling it often ranks just above it."""
    hits = [
        _hit(1, "Quelque 34 millions d’habitants sont nés en dehors de l’UE."),
        _hit(2, "Eurostat, données démographiques, 2019.", kind="footnote"),
        _hit(3, "OCDE/UE (2018), Settling In.", kind="footnote"),
    ]
    ordered = source_first("D’où vient le chiffre de 34 millions ?", hits)
    assert [h.passage.id for h in ordered] == ["p2", "p1", "p3"] and ordered[0].rank == 2
    assert arrange("Which publication backs the figure of 34 million?", hits)[0].passage.id == "p2"
    assert source_first("Combien d’habitants sont nés hors de l’UE ?", hits) == hits  # not a source question
    assert source_first("D’où vient le chiffre ?", [hits[0], hits[2], hits[1]])[0].passage.id == "p3"
    far = [hits[0], _hit(4, "Autre passage."), hits[1]]
    assert source_first("D’où vient le chiffre ?", far) == far  # below the window of 2
