"""The optional generated answer: prompt, OpenAI-compatible call and citation check.

The remote LLM cannot run here, so a stand-in HTTP server on 127.0.0.1 (tests/llm_standin.py)
plays the endpoint and replies with one valid and one invalid citation.
"""

from __future__ import annotations

from core.settings import Settings
from qa.generator import AnswerGenerator, CitationChecker, check_citations
from qa.results import Citation, CitedPassage
from tests.llm_standin import llm_standin

DOC = "reseaux-cooperation-ue-integration-migrants"


def _passage(marker: int, text: str) -> CitedPassage:
    return CitedPassage(
        marker=marker,
        id=f"{DOC}-{marker}",
        kind="passage",
        text=text,
        score=1.0 / marker,
        citation=Citation(
            doc_id=DOC,
            title="Les réseaux de coopération de l’UE",
            section_path=["Forum"],
            start=0,
            end=len(text),
        ),
    )


PASSAGES = [
    _passage(
        1,
        "Le Forum européen sur la migration (FEM) est une plateforme de dialogue entre la société civile et les institutions européennes qui se réunissent une fois par an pour deux jours de travail.",
    ),
    _passage(2, "La troisième réunion du FEM a eu lieu les 2 et 3 mars 2017 à Bruxelles."),
]


def test_check_citations_keeps_valid_and_reports_invented_markers():
    text, kept, removed = check_citations("A [1]. B [2, 7]. C [9][2].", {1, 2})
    assert text == "A [1]. B [2]. C [2]."
    assert kept == [1, 2]
    assert removed == [7, 9]


def test_citation_checker_is_a_serialisable_component():
    assert CitationChecker.from_dict(CitationChecker().to_dict()).__class__ is CitationChecker


def test_generator_removes_the_invented_marker():
    with llm_standin() as server:
        generator = AnswerGenerator(base_url=server.url, model="standin-model")
        answer = generator.generate("Qu’est-ce que le Forum européen sur la migration ?", "fr", PASSAGES)
        sent = server.requests[-1]["json"]
    assert answer.markers == [1]
    assert answer.removed_markers == [9]
    assert "[1]" in answer.text and "[9]" not in answer.text
    assert answer.model == "standin-model"
    # the prompt carried the question, the numbered passages and the answer language
    prompt = "\n".join(
        m["content"] if isinstance(m["content"], str) else str(m["content"]) for m in sent["messages"]
    )
    assert "[2] (" in prompt and "Forum européen sur la migration" in prompt and "French" in prompt
    assert sent["model"] == "standin-model"


def test_generator_is_off_unless_configured():
    assert AnswerGenerator.from_settings(Settings(llm_base_url=None, llm_model=None)) is None
    with llm_standin() as server:
        configured = AnswerGenerator.from_settings(Settings(llm_base_url=server.url, llm_model="m"))
        assert configured is not None
