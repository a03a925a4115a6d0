"""Users' ratings of answers (👍/👎 and an optional comment), kept to grow the gold set.

One SQLite file (``Settings.feedback_path``, default ``<data_dir>/feedback.sqlite3``) in WAL
mode; the schema is created on first use. Each call opens its own connection, and writes of
this process go one at a time (a lock), so the API's threadpool may call a store concurrently;
other processes wait on SQLite's busy timeout. A database that cannot be opened, read or
written (corrupt file, read-only or missing folder, full disk) raises
:class:`FeedbackStoreError` with the path and what to do: a rating is never dropped silently.

Each record keeps what is needed to turn it into an evaluation question: the question and its
language, the answer (``None`` when the service refused), ``answerable``, the cited passage
ids with their ``[n]`` markers and documents, and the settings of the request (mode, top_k,
filters, interface language).

:func:`gold_candidate` writes a record as a line of the gold-set format of
``evaluation/gold`` (``id, lang, kind, doc, question, evidence, footnotes, answer``):

* 👍 on an answer: ``kind`` ``"feedback"``, ``doc`` the document of the first cited sentence
  (from the passage ids, ``<doc_id>:<suffix>``, else the first of ``doc_ids``), ``evidence``
  the answer's sentences citing ``doc``, without their ``[n]`` markers (extractive: verbatim
  from the passages). Ratings of the same answer to the same question become one line. Loads
  with ``evaluation.gold.load_gold`` as it is.
* 👍 on a refusal: an ``"unanswerable"`` question (no doc, no evidence). Loads as it is.
* 👎 (and a 👍 answer without text): ``kind`` ``"feedback-down"`` (``"feedback-review"``),
  empty evidence and a ``note`` object (comment, the rejected answer, cited passages,
  settings). These lines are refused by the gold loader **on purpose**: a reviewer must read
  the note, find the right answer in the corpus, copy 1-2 verbatim evidence spans from the
  document (or decide the question is ``unanswerable``, with empty evidence), set ``doc``,
  ``footnotes``, ``answer`` and a real ``kind``, delete ``note``, and only then add the line to
  ``evaluation/gold/dev.jsonl`` (never to ``validation.jsonl``, which is for reporting only).
"""

from __future__ import annotations

import builtins
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, Literal, TypeVar, get_args, overload

log = logging.getLogger(__name__)

Rating = Literal["up", "down"]
RATINGS: tuple[str, ...] = get_args(Rating)
RatingFilter = Literal["up", "down", "all"]

#: Seconds a connection waits for another process's write before giving up.
BUSY_TIMEOUT_S = 30.0
#: The schema this module writes (``PRAGMA user_version``).
SCHEMA_VERSION = 1
#: Kinds of the exported lines that a reviewer must complete before they load as gold.
DOWN_KIND = "feedback-down"
REVIEW_KIND = "feedback-review"
UP_KIND = "feedback"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    language TEXT,
    answer TEXT,
    answerable INTEGER NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT,
    passage_ids TEXT NOT NULL DEFAULT '[]',
    markers TEXT NOT NULL DEFAULT '[]',
    doc_ids TEXT NOT NULL DEFAULT '[]',
    settings TEXT NOT NULL DEFAULT '{}'
)
"""
_INDEX = "CREATE INDEX IF NOT EXISTS feedback_created_at ON feedback (created_at)"
_COLUMNS = (
    "id, created_at, question, language, answer, answerable, rating, comment, passage_ids, markers, "
    "doc_ids, settings"
)

T = TypeVar("T")


class FeedbackStoreError(RuntimeError):
    """The feedback database cannot be used; the message names the file and what to do."""


@dataclass
class NewFeedback:
    """A rating as a user sent it (the API validated the sizes)."""

    question: str
    rating: Rating
    answerable: bool
    language: str | None = None
    answer: str | None = None
    comment: str | None = None
    passage_ids: list[str] = field(default_factory=list)
    markers: list[int] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class FeedbackRecord(NewFeedback):
    """A stored rating: its id and when it was received (UTC, ISO 8601)."""

    id: int = 0
    created_at: str = ""


def utc_now() -> str:
    """Now in UTC, ISO 8601 to the millisecond: stored times sort as text."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def parse_since(text: str) -> str:
    """A date (``2025-06-01``) or a date and time (naive ones are UTC), as a stored time to
    compare with; :class:`ValueError` saying what to write otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(
                f"{text!r} is not a date: write YYYY-MM-DD or an ISO date and time (2025-06-01T09:30)."
            ) from None
        moment = datetime(day.year, day.month, day.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


class FeedbackStore:
    """Ratings in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._write_lock = threading.Lock()
        self._init_lock = threading.Lock()
        self._ready = False

    # ------------------------------------------------------------------ public

    def add(self, feedback: NewFeedback) -> FeedbackRecord:
        """Store a rating; returns it with its id and time. :class:`ValueError` for a rating
        that is neither "up" nor "down" or an empty question."""
        if feedback.rating not in RATINGS:
            raise ValueError(f"rating must be 'up' or 'down', not {feedback.rating!r}")
        if not feedback.question.strip():
            raise ValueError("the question of a rating must not be empty")
        created_at = utc_now()
        row = (
            created_at,
            _text(feedback.question),
            _text(feedback.language),
            _text(feedback.answer),
            int(bool(feedback.answerable)),
            feedback.rating,
            _text(feedback.comment),
            _dump(feedback.passage_ids),
            _dump(feedback.markers),
            _dump(feedback.doc_ids),
            _dump(feedback.settings),
        )

        def insert(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "INSERT INTO feedback (created_at, question, language, answer, answerable, rating, "
                "comment, passage_ids, markers, doc_ids, settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return int(cursor.lastrowid or 0)

        new_id = self._call("saved", insert, write=True)
        fields = {name: getattr(feedback, name) for name in NewFeedback.__dataclass_fields__}
        return FeedbackRecord(**fields, id=new_id, created_at=created_at)

    def list(self, limit: int = 50, offset: int = 0) -> list[FeedbackRecord]:
        """Ratings, newest first."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        rows = self._call(
            "read",
            lambda conn: conn.execute(
                f"SELECT {_COLUMNS} FROM feedback ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall(),
        )
        return [self._record(row) for row in rows]

    def count(self) -> int:
        return int(
            self._call("read", lambda conn: conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])
        )

    def records(
        self, rating: RatingFilter = "all", since: str | None = None
    ) -> builtins.list[FeedbackRecord]:
        """Ratings, oldest first, of one kind (or all) received at or after ``since``
        (a date or an ISO time, see :func:`parse_since`)."""
        clauses: builtins.list[str] = []
        params: builtins.list[str] = []
        if rating != "all":
            if rating not in RATINGS:
                raise ValueError(f"rating must be 'up', 'down' or 'all', not {rating!r}")
            clauses.append("rating = ?")
            params.append(rating)
        if since:
            clauses.append("created_at >= ?")
            params.append(parse_since(since))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._call(
            "read",
            lambda conn: conn.execute(
                f"SELECT {_COLUMNS} FROM feedback{where} ORDER BY id", params
            ).fetchall(),
        )
        return [self._record(row) for row in rows]

    def export(self, out: IO[str], rating: RatingFilter = "all", since: str | None = None) -> dict[str, int]:
        """Write gold-set candidates (JSONL, see :func:`gold_candidates`) to ``out``; returns
        how many lines load as they are ("ready") and how many need a reviewer ("review")."""
        counts = {"ready": 0, "review": 0}
        for line in gold_candidates(self.records(rating, since)):
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            counts["review" if "note" in line else "ready"] += 1
        return counts

    # ------------------------------------------------------------------ SQLite

    def _call(self, action: str, work: Callable[[sqlite3.Connection], T], write: bool = False) -> T:
        """Run ``work`` in a transaction on a connection of its own; SQLite and file errors
        become :class:`FeedbackStoreError`."""
        try:
            self._ensure_schema()
            with self._write_lock if write else nullcontext():
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
                try:
                    with conn:  # commits, or rolls back on an error
                        return work(conn)
                finally:
                    conn.close()
        except (sqlite3.Error, OSError, json.JSONDecodeError) as exc:
            raise self._error(action, exc) from exc

    def _ensure_schema(self) -> None:
        if self._ready:
            return
        with self._init_lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
            try:
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if version > SCHEMA_VERSION:
                    raise sqlite3.DatabaseError(
                        f"its schema version {version} is newer than this program's ({SCHEMA_VERSION})"
                    )
                conn.execute("PRAGMA journal_mode=WAL")  # stays set in the file
                with conn:
                    conn.execute(_SCHEMA)
                    conn.execute(_INDEX)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            finally:
                conn.close()
            self._ready = True

    def _error(self, action: str, exc: BaseException) -> FeedbackStoreError:
        if isinstance(exc, OSError | sqlite3.OperationalError):
            advice = (
                "check that its folder exists and is writable, that the disk is not full, or set "
                "POLICYQA_FEEDBACK_DB to another file"
            )
        else:  # not a database, malformed, unreadable rows
            advice = "the file is damaged or not a feedback database: move it aside (a new one is created)"
        log.error("feedback database %s: %s (%s)", self.path, exc, type(exc).__name__)
        return FeedbackStoreError(f"The feedback could not be {action} in {self.path} ({exc}): {advice}.")

    @staticmethod
    def _record(row: tuple[Any, ...]) -> FeedbackRecord:
        values = dict(zip(_COLUMNS.split(", "), row, strict=True))
        for name in ("passage_ids", "markers", "doc_ids", "settings"):
            values[name] = json.loads(values[name])
        values["id"] = int(values["id"])
        values["answerable"] = bool(values["answerable"])
        return FeedbackRecord(**values)


@overload
def _text(value: str) -> str: ...
@overload
def _text(value: None) -> None: ...
def _text(value: str | None) -> str | None:
    """Text SQLite can store: a lone surrogate (JSON allows ``"\\ud800"``) becomes U+FFFD."""
    if value is None:
        return None
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _dump(value: object) -> str:
    return _text(json.dumps(value, ensure_ascii=False, default=str))


# ---------------------------------------------------------------------- gold-set candidates

#: One or more [n] markers after a sentence of an extractive answer ("text [1] text [2][3]").
_MARKERS = re.compile(r"(?:\s*\[(\d+)\])+")


def answer_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """The sentences of an extractive answer with the markers each ends with."""
    out: list[tuple[str, list[int]]] = []
    pos = 0
    for match in _MARKERS.finditer(answer):
        text = answer[pos : match.start()].strip()
        if text:
            out.append((text, [int(n) for n in re.findall(r"\d+", match.group(0))]))
        pos = match.end()
    tail = answer[pos:].strip()
    if tail:
        out.append((tail, []))
    return out


def _doc_of_passage(passage_id: str, known: list[str]) -> str | None:
    """Passage ids are ``<doc_id>:<suffix>`` (``ingest/chunker.py``); the document must be one
    the client named when it named any."""
    doc, sep, _ = passage_id.rpartition(":")
    if not sep or not doc or (known and doc not in known):
        return None
    return doc


def _marker_docs(record: FeedbackRecord) -> dict[int, str]:
    """The document of each marker: from the passage ids when the client sent markers aligned
    with them (the web page does), else from documents aligned with the markers."""
    docs: dict[int, str] = {}
    if record.passage_ids and len(record.passage_ids) == len(record.markers):
        for marker, pid in zip(record.markers, record.passage_ids, strict=True):
            doc = _doc_of_passage(pid, record.doc_ids)
            if doc:
                docs[marker] = doc
    if not docs and record.doc_ids and len(record.doc_ids) == len(record.markers):
        docs.update(zip(record.markers, record.doc_ids, strict=True))
    return docs


def _main_doc(
    record: FeedbackRecord, sentences: list[tuple[str, list[int]]], by_marker: dict[int, str]
) -> str | None:
    """The document of the answer's first cited sentence, else the first one cited."""
    for _, markers in sentences:
        for marker in markers:
            if marker in by_marker:
                return by_marker[marker]
    if record.doc_ids:
        return record.doc_ids[0]
    return next((d for d in (_doc_of_passage(p, []) for p in record.passage_ids) if d), None)


def _evidence(
    sentences: list[tuple[str, list[int]]], by_marker: dict[int, str], doc: str | None
) -> list[str]:
    """The answer's sentences citing ``doc`` (all of them when the markers' documents are unknown)."""
    if doc and by_marker:
        of_doc = [t for t, ms in sentences if not ms or any(by_marker.get(m) == doc for m in ms)]
        if of_doc:
            return list(dict.fromkeys(of_doc))
    return list(dict.fromkeys(t for t, _ in sentences))


def gold_candidate(record: FeedbackRecord) -> dict[str, Any]:
    """One line of the gold-set format; 👎 lines (and unusable 👍 ones) carry a ``note`` and
    an unloadable kind/evidence pair until a reviewer completes them (see the module doc)."""
    lang = (record.language or "und").strip().split("-")[0].split("_")[0].lower()[:8] or "und"
    if len(lang) < 2:
        lang = "und"
    line: dict[str, Any] = {
        "id": f"fb{record.id}",
        "lang": lang,
        "kind": UP_KIND,
        "doc": None,
        "question": record.question.strip(),
        "evidence": [],
        "footnotes": [],
        "answer": None,
    }
    if record.rating == "up" and not record.answerable:
        line["kind"] = "unanswerable"  # the user agrees that the documents do not answer
        return line
    sentences = answer_sentences(record.answer or "")
    by_marker = _marker_docs(record)
    doc = _main_doc(record, sentences, by_marker)
    evidence = _evidence(sentences, by_marker, doc) if record.rating == "up" else []
    if evidence:
        line.update(doc=doc, evidence=evidence, answer=" ".join(t for t, _ in sentences))
        return line
    line["kind"] = DOWN_KIND if record.rating == "down" else REVIEW_KIND
    line["doc"] = doc
    line["note"] = {
        "feedback_id": record.id,
        "created_at": record.created_at,
        "rating": record.rating,
        "comment": record.comment,
        "answerable": record.answerable,
        "answer": record.answer,
        "passage_ids": record.passage_ids,
        "markers": record.markers,
        "doc_ids": record.doc_ids,
        "settings": record.settings,
        "todo": "find the right answer in the corpus: set evidence (verbatim spans of doc) or kind "
        "'unanswerable', set doc, footnotes, answer and a real kind, then delete this note",
    }
    return line


def gold_candidates(records: Iterable[FeedbackRecord]) -> Iterator[dict[str, Any]]:
    """Gold-set lines of ``records`` (in their order). 👍 ratings of the same answer to the
    same question become one line (the newest); every 👎 stays (each comment counts)."""
    records = list(records)
    newest: dict[tuple[str, bool, str], int] = {}
    for record in records:
        if record.rating == "up":
            key = (" ".join(record.question.split()).casefold(), record.answerable, record.answer or "")
            newest[key] = record.id
    for record in records:
        if record.rating == "up":
            key = (" ".join(record.question.split()).casefold(), record.answerable, record.answer or "")
            if newest[key] != record.id:
                continue
        yield gold_candidate(record)
