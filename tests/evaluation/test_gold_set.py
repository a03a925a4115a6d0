"""Checks of the hand-written gold set in evaluation/gold/ (standard library + pytest, no model).

The important one: every evidence string occurs verbatim in the corpus file of its ``doc``
(after collapsing runs of white space, nothing else), because a wrong evidence string would
silently score every mode 0 on that question.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GOLD = REPO / "evaluation" / "gold"
CORPUS = REPO / "corpus"
SPLITS = ("dev", "validation")

FIELDS = {"id", "lang", "kind", "doc", "question", "evidence", "footnotes", "answer"}
KINDS = {
    "outline",
    "purpose",
    "footnote_source",
    "funding",
    "number",
    "date",
    "fact",
    "definition",
    "network",
    "unanswerable",
}
DOCS = {
    "plan-action-integration-inclusion-2021-2027",
    "reseaux-cooperation-ue-integration-migrants",
}
LANG = re.compile(r"^[a-z]{2}$")
ID = re.compile(r"^g\d{3}$")


def _load(name: str) -> list[dict]:
    path = GOLD / f"{name}.jsonl"
    rows = []
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:  # pragma: no cover - message only
                pytest.fail(f"{path.name}, line {lineno}: not JSON ({exc})")
            rows.append(row)
    return rows


@cache
def split_rows() -> dict[str, list[dict]]:
    return {name: _load(name) for name in SPLITS}


@cache
def all_rows() -> list[dict]:
    rows = [row for name in SPLITS for row in split_rows()[name]]
    union = GOLD / "questions.jsonl"
    if union.exists():  # optional: the union kept next to the splits
        assert sorted(_load("questions"), key=lambda r: r["id"]) == sorted(rows, key=lambda r: r["id"]), (
            "questions.jsonl must be exactly the union of dev.jsonl and validation.jsonl"
        )
    return rows


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@cache
def corpus_text(doc: str) -> str:
    return (CORPUS / f"{doc}.txt").read_text(encoding="utf-8")


@cache
def footnote_numbers(doc: str) -> frozenset[int]:
    """Numbers of the footnote texts of a document, written ``[N: ...]`` in the Word export."""
    return frozenset(int(n) for n in re.findall(r"\[(\d+):", corpus_text(doc)))


def test_splits_exist_and_parse():
    for name in SPLITS:
        assert (GOLD / f"{name}.jsonl").is_file(), f"missing evaluation/gold/{name}.jsonl"
    assert all_rows()


@pytest.mark.parametrize("name", SPLITS)
def test_every_line_has_the_fields(name):
    for row in split_rows()[name]:
        where = f"{name}:{row.get('id')}"
        assert set(row) == FIELDS, f"{where}: fields {sorted(row)}"
        assert isinstance(row["id"], str) and ID.match(row["id"]), where
        assert isinstance(row["lang"], str) and LANG.match(row["lang"]), where
        assert row["kind"] in KINDS, f"{where}: kind {row['kind']!r}"
        assert isinstance(row["question"], str) and row["question"].strip(), where
        assert isinstance(row["answer"], str) and row["answer"].strip(), where
        assert isinstance(row["evidence"], list) and all(isinstance(e, str) for e in row["evidence"]), where
        assert isinstance(row["footnotes"], list), where
        assert all(isinstance(n, int) and not isinstance(n, bool) for n in row["footnotes"]), where
        if row["kind"] == "unanswerable":
            assert row["doc"] is None and row["evidence"] == [] and row["footnotes"] == [], where
        else:
            assert row["doc"] in DOCS, f"{where}: doc {row['doc']!r}"
            assert 1 <= len(row["evidence"]) <= 2, where


def test_ids_unique():
    ids = [row["id"] for row in all_rows()]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes, f"duplicate ids: {dupes}"


def test_evidence_occurs_verbatim_in_its_document():
    missing = []
    for row in all_rows():
        if not row["evidence"]:
            continue
        text = _collapse(corpus_text(row["doc"]))
        for evidence in row["evidence"]:
            if _collapse(evidence) not in text:
                missing.append(f"{row['id']}: {evidence!r}")
    assert not missing, "evidence not found verbatim in its doc:\n" + "\n".join(missing)


def test_evidence_spans_are_clean():
    bad = []
    for row in all_rows():
        for evidence in row["evidence"]:
            if evidence != evidence.strip() or not 40 <= len(evidence) <= 200:
                bad.append(f"{row['id']}: length {len(evidence)} or padded: {evidence!r}")
            if "footnoteRef" in evidence or re.search(r"\[\d+:", evidence) or "\n" in evidence:
                bad.append(f"{row['id']}: footnote marker or line break inside: {evidence!r}")
    assert not bad, "\n".join(bad)


def test_footnote_numbers_exist_in_the_document():
    bad = []
    for row in all_rows():
        if row["footnotes"]:
            known = footnote_numbers(row["doc"])
            bad += [f"{row['id']}: [{n}]" for n in row["footnotes"] if n not in known]
    assert not bad, "footnotes not in their doc: " + ", ".join(bad)


def test_size_and_mix():
    rows = all_rows()
    langs = Counter(row["lang"] for row in rows)
    kinds = Counter(row["kind"] for row in rows)
    assert len(rows) >= 150
    assert 1 - langs["fr"] / len(rows) >= 0.40, langs
    assert len(langs) >= 5, langs
    assert kinds["unanswerable"] >= 20, kinds


def test_every_kind_in_both_splits():
    for name in SPLITS:
        present = {row["kind"] for row in split_rows()[name]}
        assert present == KINDS, f"{name} lacks {sorted(KINDS - present)}"


def test_splits_disjoint():
    dev = {row["id"] for row in split_rows()["dev"]}
    validation = {row["id"] for row in split_rows()["validation"]}
    assert not dev & validation
    dev_q = {row["question"] for row in split_rows()["dev"]}
    assert not dev_q & {row["question"] for row in split_rows()["validation"]}
