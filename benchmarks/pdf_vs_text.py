"""Dev-set retrieval on an index built from the PDF of the action plan, beside the text version.

Builds two fresh indexes in a temporary folder: the text export plus the web page (the
default corpus), and the PDF plus the web page. The gold questions name the text version's
doc_id; the PDF is declared its alternate in corpus/sources.json, so its passages are judged
the same way. Prints hit@1, hit@5, MRR@10 per mode for both, and the differences.

    .venv/bin/python benchmarks/pdf_vs_text.py [--gold ../shared/gold/dev.jsonl]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
PLAN = "plan-action-integration-inclusion-2021-2027"
WEB = "reseaux-cooperation-ue-integration-migrants.txt"
METRICS = ("hit@1", "hit@5", "mrr@10")


def corpus_copy(root: Path, name: str, files: list[str]) -> Path:
    folder = root / name
    for rel in [*files, "sources.json"]:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(CORPUS / rel, folder / rel)
    return folder


def run(corpus: Path, data_dir: Path, gold: Path, modes: list[str]) -> dict[str, dict[str, float | None]]:
    from core.settings import Settings
    from evaluation.gold import load_gold
    from evaluation.runner import evaluate
    from ingest.pipeline import alternates
    from qa.service import PolicyQAService

    settings = Settings(
        data_dir=data_dir,
        corpus_dir=corpus,
        models_path=Path(os.environ.get("POLICYQA_MODELS_DIR", REPO / "data" / "models")),
        prime_answer_cache=False,
    )
    service = PolicyQAService(settings)
    service.ensure_index()
    result = evaluate(load_gold(gold), service, modes, same_document=alternates(corpus), progress=False)
    return result.overall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gold", type=Path, default=REPO.parent / "shared" / "gold" / "dev.jsonl")
    parser.add_argument("--modes", default="bm25,dense,hybrid")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]

    with tempfile.TemporaryDirectory(prefix="policyqa-pdf-vs-text-") as tmp:
        root = Path(tmp)
        text = run(corpus_copy(root, "text", [f"{PLAN}.txt", WEB]), root / "data-text", args.gold, modes)
        pdf = run(corpus_copy(root, "pdf", [f"pdf/{PLAN}.pdf", WEB]), root / "data-pdf", args.gold, modes)

    print(f"{'mode':<8}" + "".join(f"{f'{m} text':>13}{f'{m} pdf':>12}{'diff':>8}" for m in METRICS))
    for mode in modes:
        row = f"{mode:<8}"
        for m in METRICS:
            a, b = text[mode][m] or 0.0, pdf[mode][m] or 0.0
            row += f"{a:13.3f}{b:12.3f}{b - a:+8.3f}"
        print(row)


if __name__ == "__main__":
    main()
