"""Optional generated answers from an OpenAI-compatible endpoint (Ollama, vLLM, Albert...).

Off unless ``POLICYQA_LLM_BASE_URL`` and ``POLICYQA_LLM_MODEL`` are set. The model sees the
question and the numbered passages the user also sees, and must cite them as ``[n]``. A model
can still invent ``[7]`` when there are five passages; :class:`CitationChecker` removes every
marker that points to no passage and reports it (``removed_markers``), so a citation in the
answer always leads somewhere real.
"""

from __future__ import annotations

import re
from typing import Any

from haystack import Pipeline, component, default_from_dict, default_to_dict
from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.dataclasses import ChatMessage
from haystack.utils import Secret

from core.languages import language_name
from core.settings import Settings
from qa.results import CitedPassage, GeneratedAnswer

SYSTEM_PROMPT = """\
You answer questions about European Union policy documents using only the numbered passages given.
Rules:
- Answer in {language}, in one to four sentences.
- Support every statement with the number of its passage in square brackets, like [1] or [2][3].
- Cite only passage numbers that appear below (1 to {count}).
- If the passages do not contain the answer, say so plainly and cite nothing.
"""

# [3], [1, 2], [1][2]: a group of numbers inside one pair of brackets counts as markers too
_MARKER_GROUP = re.compile(r"\[(\s*\d+(?:\s*[,;]\s*\d+)*\s*)\]")


def build_messages(question: str, language: str, passages: list[CitedPassage]) -> list[ChatMessage]:
    context = "\n\n".join(
        f"[{p.marker}] ({p.citation.title}; {' > '.join(p.citation.section_path) or 'text'})\n{p.text}"
        for p in passages
    )
    system = SYSTEM_PROMPT.format(language=language_name(language), count=len(passages))
    return [
        ChatMessage.from_system(system),
        ChatMessage.from_user(f"Passages:\n\n{context}\n\nQuestion: {question}"),
    ]


def check_citations(text: str, valid: set[int]) -> tuple[str, list[int], list[int]]:
    """Drop markers that point to no passage; returns (text, kept markers, removed markers)."""
    kept: list[int] = []
    removed: list[int] = []

    def fix(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        good = [n for n in numbers if n in valid]
        removed.extend(n for n in numbers if n not in valid)
        kept.extend(good)
        return "".join(f"[{n}]" for n in good)

    cleaned = _MARKER_GROUP.sub(fix, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)  # "text [9]." -> "text ."-> "text."
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    return cleaned, sorted(set(kept)), sorted(set(removed))


@component
class CitationChecker:
    """Keeps only ``[n]`` markers with 1 <= n <= passage_count in the model's reply."""

    @component.output_types(text=str, markers=list[int], removed_markers=list[int])
    def run(self, replies: list[ChatMessage], passage_count: int) -> dict[str, Any]:
        text = (replies[0].text or "") if replies else ""
        cleaned, kept, removed = check_citations(text, set(range(1, passage_count + 1)))
        return {"text": cleaned, "markers": kept, "removed_markers": removed}

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CitationChecker:
        return default_from_dict(cls, data)


class AnswerGenerator:
    """chat generator -> citation checker, as one Haystack pipeline built once."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 1,
    ) -> None:
        self.model = model
        generator = OpenAIChatGenerator(
            # local servers (Ollama, vLLM) accept any key, but the client insists on one
            api_key=Secret.from_token(api_key or "not-needed"),
            model=model,
            api_base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            # max_tokens, not max_completion_tokens: what every OpenAI-compatible server accepts
            generation_kwargs={"temperature": 0.0, "max_tokens": 400},
        )
        self.pipeline = Pipeline()
        self.pipeline.add_component("llm", generator)
        self.pipeline.add_component("citations", CitationChecker())
        self.pipeline.connect("llm.replies", "citations.replies")
        self.pipeline.warm_up()

    @classmethod
    def from_settings(cls, settings: Settings) -> AnswerGenerator | None:
        """The generator configured by settings, or None when no endpoint is configured."""
        if not settings.llm_base_url or not settings.llm_model:
            return None
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return cls(settings.llm_base_url, settings.llm_model, key)

    def generate(self, question: str, language: str, passages: list[CitedPassage]) -> GeneratedAnswer:
        out = self.pipeline.run(
            {
                "llm": {"messages": build_messages(question, language, passages)},
                "citations": {"passage_count": len(passages)},
            }
        )["citations"]
        return GeneratedAnswer(
            text=out["text"], model=self.model, markers=out["markers"], removed_markers=out["removed_markers"]
        )
