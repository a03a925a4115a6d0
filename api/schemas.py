"""Typed requests and responses of the HTTP API.

Responses mirror the QA layer's results (``qa/results.py``) and are validated from their
attributes (``from_attributes``); requests convert to the QA layer's inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from core.languages import CORPUS_LANGUAGE
from index.types import Mode, SearchFilters
from ingest.models import PassageKind
from qa.questions import MAX_QUESTION_CHARS, QUESTION_PATTERN, clean_question
from qa.results import AnswerCacheState, AskQuery
from qa.uploads import public_source_path

#: Most values of one filter list (documents, funds, kinds, languages; repeated query parameters).
MAX_FILTER_VALUES = 50

#: The question as the HTTP schema documents it; the rule itself is qa.questions'.
Question = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_QUESTION_CHARS),
    AfterValidator(clean_question),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": MAX_QUESTION_CHARS, "pattern": QUESTION_PATTERN}
    ),
]


class Result(BaseModel):
    """A response read from a QA-layer dataclass."""

    model_config = ConfigDict(from_attributes=True)


def _whole_number(value: object) -> object:
    """JSON integers, including 5.0 (JSON Schema counts it as an integer); never "5" or true."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number, e.g. 5")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number, e.g. 5")
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


def _at_most_max_values(value: object) -> object:
    """Every filter list is capped, so no request makes the store match thousands of values."""
    if isinstance(value, list) and len(value) > MAX_FILTER_VALUES:
        raise ValueError(
            f"at most {MAX_FILTER_VALUES} values are allowed, {len(value)} were sent: "
            "narrow the filter or leave it out"
        )
    return value


def _unique(values: list[Any]) -> list[Any]:
    """Duplicates dropped, first occurrence kept (repeating a value changes nothing)."""
    return list(dict.fromkeys(values))


FilterValues = Annotated[
    list[str],
    BeforeValidator(_at_most_max_values),
    AfterValidator(_unique),
    Field(max_length=MAX_FILTER_VALUES),
]
KindValues = Annotated[
    list[PassageKind],
    BeforeValidator(_at_most_max_values),
    AfterValidator(_unique),
    Field(max_length=MAX_FILTER_VALUES),
]


class Filters(BaseModel):
    """Restrict the search; every field is optional and combined with AND. Each list takes at
    most 50 values; duplicates are dropped, and so are document ids the index does not know."""

    documents: FilterValues | None = Field(
        default=None, examples=[["plan-action-integration-inclusion-2021-2027"]]
    )
    kinds: KindValues | None = None
    funds: FilterValues | None = Field(
        default=None, description="Fund ids or any of their names (FSE+, ESF+...)."
    )
    languages: FilterValues | None = None

    def to_search_filters(self) -> SearchFilters:
        return SearchFilters(
            doc_ids=self.documents, kinds=self.kinds, funds=self.funds, languages=self.languages
        )


class AskRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "question": "Quels fonds européens soutiennent l’intégration des migrants ?",
                    "top_k": 5,
                    "mode": "hybrid",
                },
                {"question": "Quel est le rôle du réseau européen d’intégration ?"},
            ]
        }
    )

    question: Question = Field(
        description="The question, in French or another EU language (1-2,000 characters)."
    )
    top_k: WholeNumber = Field(default=5, ge=1, le=20)
    mode: Mode | None = Field(default=None, description="bm25, dense or hybrid (default: the best measured).")
    filters: Filters | None = None
    generate: StrictBool | None = Field(
        default=None, description="Also write a generated answer when an LLM endpoint is configured."
    )

    def to_query(self) -> AskQuery:
        filters = self.filters.to_search_filters() if self.filters else None
        return AskQuery(self.question, self.top_k, self.mode, filters, self.generate)


def _relative_source(path: str, info: ValidationInfo) -> str:
    """Source paths as clients see them: relative to the corpus folder, ``uploads/<file>`` for
    uploads; never a path of the server's own disk. Routes pass the folders as validation
    context (:func:`api.deps.paths_context`); without it an absolute path keeps its name only."""
    context = info.context if isinstance(info.context, dict) else {}
    corpus, uploads = context.get("corpus_dir"), context.get("uploads_dir")
    if corpus is None or uploads is None:
        return public_source_path(path, Path("/nonexistent-corpus"), Path("/nonexistent-uploads"))
    return public_source_path(path, corpus, uploads)


class Citation(Result):
    """Where a passage comes from, and the reference of its document (null when unknown)."""

    doc_id: str
    title: str
    section_path: list[str]
    page_start: int | None = Field(
        default=None,
        description="First page (from 1) of the passage in the PDF; for a text document with a PDF "
        "version (the action plan), in that PDF: the document's metadata.pages_from names it.",
    )
    page_end: int | None = Field(default=None, description="Last page of the passage (same numbering).")
    start: int = Field(description="Character offset of the passage in the document's clean text.")
    end: int
    source_path: str = Field(
        default="", description="The source file: relative to the corpus folder, or uploads/<file>."
    )
    reference: str | None = Field(
        default=None, description="The document's official reference, e.g. COM(2020) 758 final."
    )
    date: str | None = Field(default=None, description="The document's date, ISO 8601 (2020-11-24).")
    source_url: str | None = Field(default=None, description="Where the published document is (EUR-Lex...).")
    publisher: str | None = Field(default=None, description="Who published it, e.g. Commission européenne.")

    _relative = field_validator("source_path")(_relative_source)


class FootnoteOut(Result):
    number: int
    text: str
    urls: list[str] = []


class PassageRef(Result):
    """A passage mentioned alongside a hit (e.g. the passage citing a footnote hit)."""

    id: str
    text: str
    citation: Citation


class CitedPassage(Result):
    marker: int = Field(description="The number used in the answer's [n] markers.")
    id: str
    kind: PassageKind
    text: str
    score: float
    dense_score: float | None = None
    sparse_score: float | None = None
    citation: Citation
    footnotes: list[FootnoteOut] = []
    funds: list[str] = []
    legal_refs: list[str] = []
    urls: list[str] = []
    language: str = CORPUS_LANGUAGE
    cited_by: list[PassageRef] = []


class AnswerSentence(Result):
    text: str
    markers: list[int] = Field(description="Markers [n] of the passages the sentence comes from.")
    start: int | None = Field(
        default=None,
        description="Offset of the sentence in the text of passage markers[0] (to highlight it).",
    )
    end: int | None = None


class FundMention(Result):
    fund: str = Field(
        description="The label readers know (FSE+, FEDER, Erasmus+); GET /funds/{fund} resolves it."
    )
    id: str = Field(description="The fund's registry id.")
    name: str
    markers: list[int] = Field(description="Markers [n] of the passages that name the fund.")


class GeneratedAnswer(Result):
    text: str
    model: str
    markers: list[int] = []
    removed_markers: list[int] = Field(default=[], description="Citations the model invented, removed.")


class Answerability(Result):
    """Why the service did or did not answer: the signals and the rule that combined them."""

    rule: str = Field(description="The decision rule, in words.")
    signals: dict[str, float | None] = Field(default={}, description="The measured signals the rule reads.")
    reason: str = Field(default="", description="Which part of the rule decided.")


class AskResponse(Result):
    question: str
    language: str
    mode: Mode
    answerable: bool
    answer: str | None = Field(default=None, description="Extractive answer with [n] markers.")
    sentences: list[AnswerSentence] = []
    message: str | None = Field(default=None, description="Plain explanation when there is no answer.")
    passages: list[CitedPassage] = []
    funds: list[FundMention] = Field(
        default=[],
        description="For questions about funding: each fund the passages name, most cited first.",
    )
    generated: GeneratedAnswer | None = None
    answerability: Answerability | None = None
    warnings: list[str] = Field(
        default=[], description="Things the caller may want to know (e.g. no LLM configured)."
    )
    timings_ms: dict[str, float] = {}


class SearchResponse(Result):
    query: str
    mode: Mode
    passages: list[CitedPassage]


class ErrorResponse(BaseModel):
    error: str
    detail: str | list | dict | None = None


class DocumentInfo(Result):
    """One ingested document, as recorded in the index manifest."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "doc_id": "reseaux-cooperation-ue-integration-migrants",
                    "title": "Les réseaux de coopération de l’UE pour l’intégration des migrants",
                    "source_format": "text",
                    "language": "fr",
                    "passages": 18,
                    "footnotes": 0,
                }
            ]
        },
    )

    doc_id: str
    title: str = ""
    source_path: str = Field(
        default="", description="The source file: relative to the corpus folder, or uploads/<file>."
    )
    source_format: str = ""
    language: str = CORPUS_LANGUAGE
    fingerprint: str = ""
    passages: int = 0
    footnotes: int = 0
    pages: int | None = None
    ingested_at: str | None = None
    metadata: dict[str, Any] = {}

    _relative = field_validator("source_path")(_relative_source)


class DocumentList(Result):
    documents: list[DocumentInfo]


class DocumentDetail(Result):
    """A document's manifest record and all its passages, body first then footnotes."""

    document: DocumentInfo
    passages: list[CitedPassage]


class UploadResult(Result):
    """What an upload did to the index: added, updated (content changed) or unchanged."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "doc_id": "note-integration-2024",
                    "status": "added",
                    "title": "Note sur l’intégration",
                    "passages": 12,
                    "footnotes": 3,
                    "seconds": 1.8,
                }
            ]
        },
    )

    doc_id: str
    status: Literal["added", "updated", "unchanged"]
    title: str
    passages: int
    footnotes: int
    seconds: float = 0.0


class UploadAccepted(BaseModel):
    """An upload passed the checks and waits to be indexed: poll ``status_url``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job_id": "3f0c9a1e2b7d4c58a6e1f0b2c3d4e5f6",
                    "status_url": "/jobs/3f0c9a1e2b7d4c58a6e1f0b2c3d4e5f6",
                    "doc_id": "upload-note-integration-2024",
                    "status": "queued",
                }
            ]
        }
    )

    job_id: str
    status_url: str = Field(description="GET it for the job's status, then its result or error.")
    doc_id: str = Field(description="The id the document will have: upload-<name of the file>.")
    status: Literal["queued", "running", "done", "failed"] = "queued"


class JobError(BaseModel):
    status: int = Field(description="The HTTP status the error would have had on a direct request.")
    error: str
    type: str


class JobInfo(BaseModel):
    """A background job: queued, running, done (with its result) or failed (with its error)."""

    job_id: str
    kind: Literal["upload"] = "upload"
    doc_id: str
    filename: str = ""
    status: Literal["queued", "running", "done", "failed"]
    submitted_at: str
    started_at: str | None = None
    finished_at: str | None = None
    result: UploadResult | None = None
    error: JobError | None = None


class DeleteResult(Result):
    doc_id: str
    removed_points: int = Field(description="Passages and footnotes removed from the index.")


class FundSummary(Result):
    """A fund of the registry and how often the indexed documents mention it."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "esf_plus",
                    "name": "Fonds social européen plus",
                    "name_en": "European Social Fund Plus",
                    "acronyms": ["FSE+", "ESF+"],
                    "aliases": ["Fonds social européen +", "FSE plus"],
                    "details": {"period": "2021-2027", "successor_of": "esf"},
                    "passages": 9,
                    "footnotes": 1,
                }
            ]
        },
    )

    id: str
    name: str = Field(description="French name.")
    name_en: str = ""
    acronyms: list[str] = []
    aliases: list[str] = []
    details: dict = Field(default={}, description="Other registry fields (period, successor_of...).")
    passages: int = Field(default=0, description="Body passages mentioning the fund.")
    footnotes: int = Field(default=0, description="Footnotes mentioning the fund.")


class FundList(Result):
    funds: list[FundSummary]


class FundDetail(Result):
    """A fund and every passage and footnote that mentions it, with their links."""

    fund: FundSummary
    passages: list[CitedPassage]
    footnotes: list[CitedPassage]


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    ready: bool
    model: str
    documents: int = 0
    answer_cache: AnswerCacheState = Field(
        default="off",
        description="Sentence embeddings of the indexed passages, encoded in the background after "
        "start-up: answers are slower (and benchmarks not representative) while 'priming'.",
    )
    detail: str | None = None


# --------------------------------------------------------------------------- feedback

#: Longest answer and comment a rating may carry, and most passages, documents, markers.
MAX_FEEDBACK_ANSWER_CHARS = 20_000
MAX_FEEDBACK_COMMENT_CHARS = 2_000
MAX_FEEDBACK_REFS = 20

#: A passage or document id as the API gave it.
RefId = Annotated[str, StringConstraints(min_length=1, max_length=300)]
#: (Field before the validator: the other way round, JSON Schema gets "ge" for "minimum".)
Marker = Annotated[int, Field(ge=1, le=1000), BeforeValidator(_whole_number)]
LanguageCode = Annotated[
    str, StringConstraints(min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$")
]


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


class FeedbackSettings(BaseModel):
    """How the rated answer was asked for (unknown keys are ignored)."""

    mode: Mode | None = None
    top_k: Annotated[int, Field(ge=1, le=50), BeforeValidator(_whole_number)] | None = None
    filters: Filters | None = None
    ui_language: LanguageCode | None = Field(default=None, description="Language of the web page.")


class FeedbackIn(BaseModel):
    """A 👍/👎 on an answer of ``POST /ask``, with what is needed to make it a gold question."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "question": "Qu’est-ce que le Forum européen sur la migration ?",
                    "language": "fr",
                    "answer": "Le Forum européen sur la migration est une plateforme de dialogue. [1]",
                    "answerable": True,
                    "rating": "up",
                    "comment": None,
                    "passage_ids": ["reseaux-cooperation-ue-integration-migrants:3f2a9c1b"],
                    "doc_ids": ["reseaux-cooperation-ue-integration-migrants"],
                    "markers": [1],
                    "settings": {"mode": "hybrid", "top_k": 5, "filters": None, "ui_language": "fr"},
                }
            ]
        }
    )

    question: Question = Field(description="The question as asked (1-2,000 characters).")
    language: LanguageCode | None = Field(
        default=None, description="The question's language, as /ask gave it."
    )
    answer: str | None = Field(
        default=None,
        max_length=MAX_FEEDBACK_ANSWER_CHARS,
        description="The answer rated, with its [n] markers; null when the service refused.",
    )
    answerable: StrictBool = Field(description="The answerable flag of the /ask response.")
    rating: Literal["up", "down"]
    comment: Annotated[str | None, AfterValidator(_blank_to_none)] = Field(
        default=None, max_length=MAX_FEEDBACK_COMMENT_CHARS, description="Optional: what was wrong or right."
    )
    passage_ids: list[RefId] = Field(
        default=[], max_length=MAX_FEEDBACK_REFS, description="Ids of the cited passages, in marker order."
    )
    doc_ids: list[RefId] = Field(default=[], max_length=MAX_FEEDBACK_REFS, description="Their documents.")
    markers: list[Marker] = Field(
        default=[], max_length=MAX_FEEDBACK_REFS, description="The [n] marker of each passage of passage_ids."
    )
    settings: FeedbackSettings = Field(default_factory=FeedbackSettings)


class FeedbackCreated(BaseModel):
    id: int
    created_at: str = Field(description="When it was stored (UTC, ISO 8601).")


class FeedbackOut(Result):
    """A stored rating."""

    id: int
    created_at: str
    question: str
    language: str | None = None
    answer: str | None = None
    answerable: bool
    rating: Literal["up", "down"]
    comment: str | None = None
    passage_ids: list[str] = []
    markers: list[int] = []
    doc_ids: list[str] = []
    settings: dict[str, Any] = {}


class FeedbackList(BaseModel):
    feedback: list[FeedbackOut] = Field(description="Newest first.")
    total: int = Field(description="Ratings stored in all.")
