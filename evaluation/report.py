"""Writes an evaluation as ``report.md`` (tables), ``report.json`` (everything) and PNG charts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evaluation.runner import EvalResult

#: Column headers of the report, in order.
LABELS: dict[str, str] = {
    "hit@1": "hit@1",
    "hit@5": "hit@5",
    "recall@10": "recall@10",
    "mrr@10": "MRR@10",
    "ndcg@10": "nDCG@10",
    "footnote_recall": "footnote recall@5",
}
BREAKDOWN_METRICS = ("hit@1", "hit@5", "mrr@10")


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _breakdown(
    result: EvalResult, groups: dict[str, dict[str, dict[str, float | None]]], title: str
) -> list[str]:
    first = groups[result.modes[0]] if result.modes else {}
    names = sorted(
        g for g, summary in first.items() if summary.get("ranked")
    )  # unanswerable-only groups: no ranking
    lines = [f"## By {title}", ""]
    counts = ", ".join(f"{g} {int(first[g]['ranked'] or 0)}" for g in names if g in first)
    lines += [f"Questions with evidence per {title}: {counts}.", ""]
    for metric in BREAKDOWN_METRICS:
        lines += [f"### {LABELS[metric]}", ""]
        rows = [[mode] + [_fmt(groups[mode].get(g, {}).get(metric)) for g in names] for mode in result.modes]
        lines += _table(["mode", *names], rows)
    return lines


def render_markdown(result: EvalResult) -> str:
    lines = [
        "# Retrieval and answer evaluation",
        "",
        f"Gold set: `{result.gold}` ({result.questions} questions, {result.answerable} with evidence, "
        f"{result.questions - result.answerable} unanswerable); run {result.created_at}.",
        "",
        "Settings: " + ", ".join(f"{k} `{v}`" for k, v in result.settings.items()) + ".",
        "",
        "A passage is relevant when it contains an evidence string (after normalising case, spaces, "
        "quotes and line-end hyphens) and belongs to the question's document; for BEIR sets, when "
        "its document is in the qrels. Ranking metrics cover the questions with evidence; footnote "
        "recall covers the questions with gold footnotes (cited by, or returned among, the top 5).",
        "",
        "## Overall",
        "",
    ]
    rows = [[mode] + [_fmt(result.overall[mode].get(m)) for m in LABELS] for mode in result.modes]
    lines += _table(["mode", *LABELS.values()], rows)
    lines += _breakdown(result, result.by_language, "language")
    lines += _breakdown(result, result.by_kind, "kind")

    lines += ["## Unanswerable questions (positive class: cannot be answered)", ""]
    rows = [
        [
            mode,
            _fmt(result.overall[mode].get("unanswerable_precision")),
            _fmt(result.overall[mode].get("unanswerable_recall")),
        ]
        for mode in result.modes
    ]
    lines += _table(["mode", "precision", "recall"], rows)

    lines += [
        "## Latency per question (ms)",
        "",
        "One `ask` call with top_k 10 (retrieval, extractive answer, no LLM), timed by the runner; "
        "retrieval as timed by the service. Figures depend on the machine and its load.",
        "",
    ]
    rows = [
        [mode]
        + [
            _fmt(result.overall[mode].get(key), 1)
            for key in ("latency_median_ms", "latency_p95_ms", "retrieve_median_ms", "retrieve_p95_ms")
        ]
        for mode in result.modes
    ]
    lines += _table(["mode", "ask median", "ask p95", "retrieval median", "retrieval p95"], rows)

    if result.unreachable:
        lines += [
            "## Evidence found in no indexed passage",
            "",
            "These questions score 0 in every mode: check the evidence strings against the document, "
            "or the chunking (an evidence string split between two passages).",
            "",
            ", ".join(f"`{qid}`" for qid in result.unreachable),
            "",
        ]

    lines += ["## Per question: rank of the first relevant passage", ""]
    by_id = {mode: {s.id: s for s in result.scores[mode]} for mode in result.modes}
    rows = []
    for question_id in result.question_ids:
        first = by_id[result.modes[0]][question_id] if result.modes else None
        if first is None:
            continue
        cells = [question_id, first.lang, first.kind]
        for mode in result.modes:
            score = by_id[mode][question_id]
            if score.gold_unanswerable:
                cells.append("abstained" if score.predicted_unanswerable else "answered")
            else:
                cells.append(str(score.first_relevant_rank) if score.first_relevant_rank else "–")
        rows.append(cells)
    lines += _table(["id", "lang", "kind", *result.modes], rows)
    return "\n".join(lines).rstrip() + "\n"


def plot_charts(result: EvalResult, out: Path) -> list[Path]:
    """Bar charts: every metric by mode; hit@5 and MRR@10 by mode and language."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt
    import numpy as np

    paths: list[Path] = []
    modes = result.modes
    width = 0.8 / max(len(modes), 1)

    fig, ax = plt.subplots(figsize=(9, 4.5))
    metrics = list(LABELS)
    x = np.arange(len(metrics))
    for i, mode in enumerate(modes):
        values = [result.overall[mode].get(m) or 0.0 for m in metrics]
        bars = ax.bar(x + (i - (len(modes) - 1) / 2) * width, values, width, label=mode)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(x, [LABELS[m] for m in metrics])
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("score")
    ax.set_title(f"Retrieval metrics by mode ({result.answerable} questions with evidence)")
    ax.legend(loc="upper right", ncols=len(modes))
    fig.tight_layout()
    paths.append(out / "metrics_by_mode.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    first = result.by_language[modes[0]] if modes else {}
    languages = sorted(lang for lang, summary in first.items() if summary.get("ranked"))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
    x = np.arange(len(languages))
    for ax, metric in zip(axes, ("hit@5", "mrr@10"), strict=True):
        for i, mode in enumerate(modes):
            values = [result.by_language[mode].get(lang, {}).get(metric) or 0.0 for lang in languages]
            ax.bar(x + (i - (len(modes) - 1) / 2) * width, values, width, label=mode)
        ax.set_xticks(x, [f"{lang} ({int(first[lang]['ranked'] or 0)})" for lang in languages])
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{LABELS[metric]} by language")
        ax.set_xlabel("language (questions with evidence)")
    axes[0].set_ylabel("score")
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper center", ncols=len(modes), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    paths.append(out / "by_language.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


def write_report(result: EvalResult, out: Path) -> dict[str, Path]:
    """Write every artefact into ``out`` (created if needed); returns their paths by name."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    markdown = out / "report.md"
    markdown.write_text(render_markdown(result), encoding="utf-8")
    data = out / "report.json"
    data.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    charts = plot_charts(result, out)
    return {"markdown": markdown, "json": data, **{p.stem: p for p in charts}}
