"""Precision and recall of the "unanswerable" decision, and where the answer sentences land.

    .venv/bin/python benchmarks/answerability.py                     # dev gold + probes
    .venv/bin/python benchmarks/answerability.py --gold my.jsonl --signals out.jsonl

The positive class is *unanswerable*: precision = refusals that were right / all refusals;
recall = unanswerable questions refused / all unanswerable questions. For answerable
questions it also prints how often the extractive answer contains the gold evidence.

Runs the real service (model + embedded Qdrant) on ``POLICYQA_DATA_DIR`` (default: a
temporary folder; the corpus is ingested there first, the model cache is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_GOLD = [REPO.parent / "shared" / "gold" / "dev.jsonl", REPO / "evaluation" / "probes.jsonl"]


def _norm(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").replace("\xa0", " ").replace("\u202f", " ").lower().split())


def evidence_found(answer: str | None, evidence: list[str]) -> bool:
    return bool(answer) and any(
        _norm(e) in _norm(answer) or _norm(answer).find(_norm(e)[:40]) >= 0 for e in evidence
    )


def scores(rows: list[dict]) -> dict[str, float]:
    tp = sum(1 for r in rows if not r["gold_answerable"] and not r["answerable"])
    fp = sum(1 for r in rows if r["gold_answerable"] and not r["answerable"])
    fn = sum(1 for r in rows if not r["gold_answerable"] and r["answerable"])
    # a refusal of an answerable question whose evidence was not retrieved is the right output
    # for what the reader can see: counted apart as "retrieval misses"
    fp_retrieved = sum(
        1 for r in rows if r["gold_answerable"] and not r["answerable"] and r["evidence_retrieved"]
    )
    n_unans = sum(1 for r in rows if not r["gold_answerable"])
    answered = [r for r in rows if r["gold_answerable"]]
    return {
        "questions": len(rows),
        "unanswerable": n_unans,
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
        "false_refusals": fp,
        "false_refusals_with_evidence": fp_retrieved,
        "precision_given_retrieval": tp / (tp + fp_retrieved) if tp + fp_retrieved else float("nan"),
        "missed_refusals": fn,
        "evidence_in_answer": (sum(r["evidence_in_answer"] for r in answered) / len(answered))
        if answered
        else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gold", type=Path, nargs="*", default=DEFAULT_GOLD)
    parser.add_argument("--mode", default=None, help="bm25, dense or hybrid (default: settings).")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--signals", type=Path, default=None, help="Write every question's signals (JSONL).")
    args = parser.parse_args()

    if "POLICYQA_DATA_DIR" not in os.environ:
        os.environ["POLICYQA_DATA_DIR"] = tempfile.mkdtemp(prefix="policyqa-bench-")
        os.environ.setdefault("POLICYQA_MODELS_DIR", str(REPO / "data" / "models"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from evaluation.gold import load_gold
    from qa.results import AskQuery
    from qa.service import PolicyQAService

    service = PolicyQAService()
    t0 = time.perf_counter()
    service.load()
    report = service.ensure_index()
    print(
        f"model + index ready in {time.perf_counter() - t0:.1f}s ({report.written if report else 0} documents ingested)"
    )

    out = open(args.signals, "w", encoding="utf-8") if args.signals else None  # noqa: SIM115
    for path in args.gold:
        rows: list[dict] = []
        for q in load_gold(path):
            resp = service.ask(AskQuery(question=q.question, top_k=args.top_k, mode=args.mode))
            row = {
                "set": path.name,
                "id": q.id,
                "lang": q.lang,
                "gold_answerable": q.answerable,
                "answerable": resp.answerable,
                "evidence_in_answer": evidence_found(resp.answer, q.evidence) if q.answerable else None,
                "evidence_retrieved": any(
                    _norm(e) in _norm(p.text) for e in q.evidence for p in resp.passages
                ),
                "signals": resp.answerability.signals if resp.answerability else {},
                "reason": resp.answerability.reason if resp.answerability else "",
                "answer": resp.answer,
            }
            rows.append(row)
            if out:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        s = scores(rows)
        print(
            f"{path.name}: {s['questions']} questions, {s['unanswerable']} unanswerable | "
            f"unanswerable precision {s['precision']:.2f} recall {s['recall']:.2f} "
            f"(false refusals {s['false_refusals']}, of which {s['false_refusals_with_evidence']} with the evidence "
            f"retrieved: precision {s['precision_given_retrieval']:.2f} counting only those; "
            f"missed {s['missed_refusals']}) | "
            f"evidence in the extractive answer: {s['evidence_in_answer']:.0%} of answerable"
        )
        for r in rows:
            if r["answerable"] == r["gold_answerable"]:
                continue
            what = "answered although unanswerable"
            if r["gold_answerable"]:
                where = "among" if r["evidence_retrieved"] else "NOT among"
                what = f"refused although answerable (evidence {where} the {args.top_k} passages retrieved)"
            print(f"   {r['id']} ({r['lang']}): {what}: {r['reason']}")
    if out:
        out.close()


if __name__ == "__main__":
    main()
