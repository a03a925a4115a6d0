"""The feedback store (qa/feedback.py): ratings kept in SQLite, safe across threads, clear
errors on a broken database, and exported as gold-set candidates that the evaluation's own
loader reads. No model, no index."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from evaluation.gold import GoldFormatError, load_gold, parse_gold_line
from qa.feedback import (
    DOWN_KIND,
    FeedbackStore,
    FeedbackStoreError,
    NewFeedback,
    answer_sentences,
    gold_candidate,
    parse_since,
)

DOC = "plan-action-integration-inclusion-2021-2027"
OTHER = "reseaux-cooperation-ue-integration-migrants"


def up_answer(question: str = "Quels fonds soutiennent l’intégration ?", **changes: object) -> NewFeedback:
    values: dict = {
        "question": question,
        "rating": "up",
        "answerable": True,
        "language": "fr",
        "answer": "Le FAMI finance des mesures d’intégration. [1] Le réseau réunit les autorités. [2]",
        "passage_ids": [f"{DOC}:a1b2c3", f"{OTHER}:d4e5f6"],
        "markers": [1, 2],
        "doc_ids": [DOC, OTHER],
        "settings": {"mode": "hybrid", "top_k": 5, "filters": None, "ui_language": "fr"},
    }
    values.update(changes)
    return NewFeedback(**values)


@pytest.fixture()
def store(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(tmp_path / "data" / "feedback.sqlite3")


# --------------------------------------------------------------------------- storing


def test_schema_is_created_on_first_use_in_wal_mode(store: FeedbackStore):
    assert not store.path.exists()
    assert store.count() == 0 and store.list() == []
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_add_then_list_round_trips_every_field(store: FeedbackStore):
    sent = up_answer(comment="Très clair ✓", language="de")
    record = store.add(sent)
    assert record.id >= 1 and record.created_at.endswith("+00:00")
    [listed] = store.list()
    assert listed == record
    assert listed.question == sent.question and listed.comment == "Très clair ✓"
    assert listed.passage_ids == sent.passage_ids and listed.markers == [1, 2]
    assert listed.doc_ids == [DOC, OTHER] and listed.settings["mode"] == "hybrid"
    refusal = store.add(NewFeedback(question="Budget du FAMI ?", rating="down", answerable=False))
    assert refusal.answer is None and store.list()[0].answer is None


def test_list_is_newest_first_with_limit_and_offset(store: FeedbackStore):
    ids = [store.add(up_answer(f"Question {i} ?")).id for i in range(5)]
    assert [r.id for r in store.list()] == ids[::-1]
    assert [r.id for r in store.list(limit=2)] == ids[:-3:-1]
    assert [r.id for r in store.list(limit=2, offset=4)] == [ids[0]]
    assert store.list(limit=2, offset=10) == []
    assert store.count() == 5


def test_bad_input_is_refused(store: FeedbackStore):
    with pytest.raises(ValueError, match="rating"):
        store.add(up_answer(rating="meh"))
    with pytest.raises(ValueError, match="question"):
        store.add(up_answer("   "))
    assert store.count() == 0


def test_lone_surrogates_are_stored_not_crashing(store: FeedbackStore):
    record = store.add(up_answer("Quoi \ud800 ?", comment="x\udfff"))
    [listed] = store.list()
    assert listed.id == record.id and "\ufffd" in listed.question and "\ufffd" in (listed.comment or "")


def test_concurrent_adds_and_reads_from_threads_lose_nothing(store: FeedbackStore):
    threads, per_thread = 8, 25
    start = threading.Barrier(threads + 2)
    errors: list[BaseException] = []
    ids: list[int] = []
    ids_lock = threading.Lock()

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                record = store.add(up_answer(f"Question {n}-{i} ?", comment=f"t{n}"))
                with ids_lock:
                    ids.append(record.id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                page = store.list(limit=10)
                assert [r.id for r in page] == sorted((r.id for r in page), reverse=True)
                store.count()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    workers += [threading.Thread(target=reader) for _ in range(2)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert not errors, errors
    assert len(ids) == len(set(ids)) == threads * per_thread
    assert store.count() == threads * per_thread
    questions = {r.question for r in store.list(limit=1000)}
    assert questions == {f"Question {n}-{i} ?" for n in range(threads) for i in range(per_thread)}


def test_two_stores_on_one_file_share_it(store: FeedbackStore):
    """Two apps (or workers) over the same file see each other's ratings."""
    other = FeedbackStore(store.path)
    a = store.add(up_answer("Une ?"))
    b = other.add(up_answer("Deux ?"))
    assert [r.id for r in store.list()] == [r.id for r in other.list()] == [b.id, a.id]


# --------------------------------------------------------------------------- broken databases


def test_a_corrupt_file_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "feedback.sqlite3"
    path.write_bytes(b"this is not a database " * 200)
    store = FeedbackStore(path)
    with pytest.raises(FeedbackStoreError, match="move it aside") as info:
        store.add(up_answer())
    assert str(path) in str(info.value)
    with pytest.raises(FeedbackStoreError):
        store.list()


def test_a_file_damaged_after_use_is_a_clear_error(store: FeedbackStore):
    store.add(up_answer())
    for suffix in ("-wal", "-shm"):
        Path(f"{store.path}{suffix}").unlink(missing_ok=True)
    store.path.write_bytes(b"\0garbage" * 1000)
    with pytest.raises(FeedbackStoreError, match="could not be saved"):
        store.add(up_answer())


def test_an_unwritable_place_is_a_clear_error(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    store = FeedbackStore(blocker / "feedback.sqlite3")  # its folder cannot be made (even as root)
    with pytest.raises(FeedbackStoreError, match="writable") as info:
        store.add(up_answer())
    assert "feedback.sqlite3" in str(info.value)


def test_a_newer_schema_is_refused(tmp_path: Path):
    path = tmp_path / "feedback.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(FeedbackStoreError, match="newer"):
        FeedbackStore(path).count()


# --------------------------------------------------------------------------- gold-set candidates


def test_answer_sentences_split_on_markers():
    assert answer_sentences("Un. [1] Deux [2][3] trois. [4]") == [
        ("Un.", [1]),
        ("Deux", [2, 3]),
        ("trois.", [4]),
    ]
    assert answer_sentences("Sans marqueur.") == [("Sans marqueur.", [])]
    assert answer_sentences("") == []


def test_a_thumbs_up_answer_is_a_loadable_gold_question(store: FeedbackStore):
    record = store.add(up_answer())
    line = gold_candidate(record)
    assert line["kind"] == "feedback" and line["doc"] == DOC and line["lang"] == "fr"
    # only the sentences citing the document, without their markers
    assert line["evidence"] == ["Le FAMI finance des mesures d’intégration."]
    assert "[" not in line["answer"]
    question = parse_gold_line(json.dumps(line, ensure_ascii=False))
    assert question.answerable and question.doc == DOC


def test_documents_come_from_the_passage_ids_when_the_list_is_sorted(store: FeedbackStore):
    # doc_ids sorted, not in marker order: the passage ids say which document each marker is
    record = store.add(up_answer(passage_ids=[f"{OTHER}:1", f"{DOC}:2"], doc_ids=sorted([DOC, OTHER])))
    line = gold_candidate(record)
    assert line["doc"] == OTHER and line["evidence"] == ["Le FAMI finance des mesures d’intégration."]


def test_a_thumbs_up_refusal_is_an_unanswerable_question(store: FeedbackStore):
    record = store.add(NewFeedback(question="Budget du FAMI ?", rating="up", answerable=False, language="fr"))
    line = gold_candidate(record)
    assert line["kind"] == "unanswerable" and line["doc"] is None and line["evidence"] == []
    assert not parse_gold_line(json.dumps(line)).answerable


def test_a_thumbs_down_is_marked_for_review_and_refused_by_the_loader(store: FeedbackStore):
    record = store.add(up_answer(rating="down", comment="La réponse parle d’autre chose."))
    line = gold_candidate(record)
    assert line["kind"] == DOWN_KIND and line["evidence"] == []
    assert (
        line["note"]["comment"] == "La réponse parle d’autre chose."
        and line["note"]["feedback_id"] == record.id
    )
    with pytest.raises(GoldFormatError):
        parse_gold_line(json.dumps(line, ensure_ascii=False))


def test_export_filters_by_rating_and_date_and_loads_when_thumbs_up(store: FeedbackStore, tmp_path: Path):
    store.add(up_answer("Première ?"))
    store.add(up_answer("Première ?"))  # the same answer rated twice: one question
    store.add(up_answer("Seconde ?", language="en"))
    store.add(NewFeedback(question="Budget ?", rating="up", answerable=False, language="fr"))
    store.add(up_answer("Mauvaise ?", rating="down", comment="faux"))

    out = tmp_path / "up.jsonl"
    with out.open("w", encoding="utf-8") as handle:
        counts = store.export(handle, rating="up")
    assert counts == {"ready": 3, "review": 0}
    gold = load_gold(out)
    assert [q.question for q in gold] == ["Première ?", "Seconde ?", "Budget ?"]
    assert len({q.id for q in gold}) == 3 and gold[1].lang == "en"

    everything = io.StringIO()
    assert store.export(everything) == {"ready": 3, "review": 1}
    down = io.StringIO()
    assert store.export(down, rating="down") == {"ready": 0, "review": 1}
    assert json.loads(down.getvalue())["note"]["comment"] == "faux"

    assert store.export(io.StringIO(), since="2000-01-01") == {"ready": 3, "review": 1}
    assert store.export(io.StringIO(), since="2999-01-01T00:00") == {"ready": 0, "review": 0}


def test_parse_since():
    assert parse_since("2025-06-01") == "2025-06-01T00:00:00.000+00:00"
    assert parse_since("2025-06-01T09:30+02:00") == "2025-06-01T07:30:00.000+00:00"
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_since("hier")
