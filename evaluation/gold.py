"""Gold question sets: one JSON object per line, validated before any question is run.

A malformed line stops the load with its line number, because a silently skipped
question would change every score without anyone noticing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

#: The kinds of the shipped gold sets; any other label is accepted and reported as it is
#: (users' gold sets have their own categories). Only "unanswerable" means something.
KNOWN_KINDS: tuple[str, ...] = (
    "fact", "number", "date", "funding", "footnote", "footnote_source", "definition", "network",
    "outline", "purpose", "unanswerable",
)  # fmt: skip
UNANSWERABLE = "unanswerable"


class GoldFormatError(ValueError):
    """The gold file cannot be used as it is; the message names the line and the field to fix."""


@dataclass
class GoldQuestion:
    """One question and how to recognise a right answer.

    Relevance comes from ``evidence`` (verbatim strings of the document, matched after
    normalisation) for the project's own gold sets, or from ``qrels`` (passage is relevant
    when its document is listed) for external benchmarks in the BEIR layout.
    """

    id: str
    lang: str
    question: str
    kind: str
    doc: str | None = None
    evidence: list[str] = field(default_factory=list)
    footnotes: list[int] = field(default_factory=list)
    answer: str | None = None
    qrels: dict[str, int] | None = None  # BEIR: doc_id -> relevance grade (> 0)

    @property
    def answerable(self) -> bool:
        """What the corpus can answer; the service's ``answerable`` flag is scored against it."""
        if self.qrels is not None:
            return bool(self.qrels)
        return self.kind != "unanswerable" and bool(self.evidence)


class _GoldLine(BaseModel):
    """The schema of one line of a gold JSONL file (see evaluation/README.md)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1)
    lang: str = Field(min_length=2, max_length=8)
    question: str = Field(min_length=1)
    kind: str = Field(min_length=1, max_length=64)
    doc: str | None = None
    evidence: list[str] = Field(default_factory=list)
    footnotes: list[int] = Field(default_factory=list)
    answer: str | None = None

    @field_validator("evidence")
    @classmethod
    def _no_blank_evidence(cls, value: list[str]) -> list[str]:
        if any(not s.strip() for s in value):
            raise ValueError("evidence strings must not be empty (an empty string matches every passage)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> _GoldLine:
        if self.kind == "unanswerable":
            if self.evidence or self.footnotes:
                raise ValueError("an 'unanswerable' question must have empty evidence and footnotes")
        elif not self.evidence:
            raise ValueError(f"a '{self.kind}' question needs at least one evidence string")
        if self.footnotes and not self.doc:
            raise ValueError("footnote numbers are per document: set 'doc' when 'footnotes' is not empty")
        return self


def parse_gold_line(line: str, lineno: int = 1, source: str = "<string>") -> GoldQuestion:
    """Validate one JSONL line; errors say where and what to change."""
    try:
        raw: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise GoldFormatError(
            f"{source}, line {lineno}: not valid JSON ({exc.msg}, column {exc.colno})."
        ) from exc
    if not isinstance(raw, dict):
        raise GoldFormatError(f"{source}, line {lineno}: expected a JSON object, got {type(raw).__name__}.")
    try:
        row = _GoldLine.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors())
        raise GoldFormatError(f"{source}, line {lineno} (id {raw.get('id', '?')!r}): {problems}.") from exc
    return GoldQuestion(**row.model_dump())


def _describe(err: Any) -> str:
    message = str(err["msg"]).removeprefix("Value error, ")
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {message}" if where else message


def load_gold(path: Path) -> list[GoldQuestion]:
    """Read a gold JSONL file (blank lines allowed); raises :class:`GoldFormatError`."""
    path = Path(path)
    if not path.is_file():
        raise GoldFormatError(f"Gold file {path} not found: pass a JSONL file (or a BEIR folder) to --gold.")
    questions: list[GoldQuestion] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            question = parse_gold_line(line, lineno, str(path))
            if question.id in seen:
                raise GoldFormatError(
                    f"{path}, line {lineno}: id {question.id!r} already used on line {seen[question.id]}; ids must be unique."
                )
            seen[question.id] = lineno
            questions.append(question)
    if not questions:
        raise GoldFormatError(f"{path} holds no questions.")
    return questions
