"""Writes an evaluation as ``report.md`` (tables), ``report.json`` (everything) and PNG charts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evaluation.metrics import QuestionScore
    from evaluation.results import EvalResult

#: Column headers of the report, in order (the depth metrics are added per run: :func:`labels`).
LABELS: dict[str, str] = {
    "hit@1": "hit@1",
    "hit@5": "hit@5",
    "recall@10": "recall@10",
    "mrr@10": "MRR@10",
    "ndcg@10": "nDCG@10",
    "footnote_recall": "footnote recall@5",
}
ANSWER_LABELS: dict[str, str] = {
    "answer_support": "answer support",
    "citation_precision": "citation precision",
    "unanswerable_precision": "unanswerable precision",
    "unanswerable_recall": "unanswerable recall",
    "answerable_refused": "answerable refused",
}
BREAKDOWN_METRICS = ("hit@1", "hit@5", "mrr@10", "ndcg@10")
BREAKDOWN_ANSWER_METRICS = (
    "answer_support",
    "citation_precision",
    "unanswerable_recall",
    "answerable_refused",
)


def labels(result: EvalResult) -> dict[str, str]:
    """The retrieval columns of a run: the top-10 metrics, recall and MAP at its depth, footnotes."""
    depth = result.depth
    found = {**LABELS, f"recall@{depth}": f"recall@{depth}", f"map@{depth}": f"MAP@{depth}"}
    order = [
        "hit@1",
        "hit@5",
        "mrr@10",
        "ndcg@10",
        "recall@10",
        f"recall@{depth}",
        f"map@{depth}",
        "footnote_recall",
    ]
    return {key: found[key] for key in dict.fromkeys(order)}


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _breakdown(
    result: EvalResult, groups: dict[str, dict[str, dict[str, float | None]]], title: str
) -> list[str]:
    """One table per mode: a row per group (every label found, whatever it is), metrics as columns."""
    names = sorted({g for mode in result.modes for g in groups.get(mode, {})})
    metrics = {m: labels(result)[m] for m in (*BREAKDOWN_METRICS, f"recall@{result.depth}")}
    if result.answers:
        metrics.update({m: ANSWER_LABELS[m] for m in BREAKDOWN_ANSWER_METRICS})
    lines = [f"## By {title}", ""]
    for mode in result.modes:
        lines += [f"### {mode}", ""]
        rows = []
        for name in names:
            summary = groups[mode].get(name, {})
            counts = f"{int(summary.get('questions') or 0)} ({int(summary.get('ranked') or 0)})"
            rows.append([name, counts, *(_fmt(summary.get(m)) for m in metrics)])
        lines += _table([title, "questions (with evidence)", *metrics.values()], rows)
    return lines


def _first_relevant_cell(score: QuestionScore, answers: bool) -> str:
    if score.gold_unanswerable:
        if score.predicted_unanswerable is None:
            return "–"
        return "abstained" if score.predicted_unanswerable else "answered"
    cell = str(score.first_relevant_rank) if score.first_relevant_rank else "–"
    if answers:
        if score.predicted_unanswerable:
            cell += " refused"
        elif score.answer_support is not None:
            cell += " ✓" if score.answer_support else " ✗"
    return cell


def render_markdown(result: EvalResult) -> str:
    columns = labels(result)
    depth = result.depth
    lines = [
        "# Retrieval and answer evaluation",
        "",
        f"Gold set: `{result.gold}` ({result.questions} questions, {result.answerable} with evidence, "
        f"{result.questions - result.answerable} unanswerable); run {result.created_at}; "
        f"rankings scored to depth {depth}; answers {'scored' if result.answers else 'not run (retrieval only)'}.",
        "",
        "Settings: " + ", ".join(f"{k} `{v}`" for k, v in result.settings.items()) + ".",
        "",
        "A passage is relevant when it contains an evidence string (after normalising case, spaces, "
        "quotes and line-end hyphens) and belongs to the question's document; for BEIR sets, when "
        "its document is in the qrels (graded: nDCG counts a grade 2 twice a grade 1). Ranking "
        f"metrics cover the questions with evidence: hit@k, MRR@10, nDCG@10 and recall@10 read the "
        f"first 10 passages as the service returns them, recall@{depth} and MAP@{depth} the whole "
        f"ranking to depth {depth}. Footnote recall covers the questions with gold footnotes "
        "(cited by, or returned among, the top 5).",
        "",
        "## Overall",
        "",
    ]
    rows = [[mode] + [_fmt(result.overall[mode].get(m)) for m in columns] for mode in result.modes]
    lines += _table(["mode", *columns.values()], rows)

    if result.answers:
        lines += [
            "## Answers",
            "",
            "One `ask` call per question and mode (top_k 10, extractive answer, no LLM). *Answer support*: "
            "share of the answerable questions whose answer sentences contain an evidence string, or most "
            "of its content words (`evaluation.metrics.ANSWER_SUPPORT_MIN_SHARE`); a refusal counts as "
            "unsupported. *Citation precision*: share of the `[n]` markers whose passage contains the "
            "sentence they follow. *Unanswerable precision / recall*: of the refusals (positive class: "
            "cannot be answered). *Answerable refused*: share of the answerable questions refused.",
            "",
        ]
        rows = [[mode] + [_fmt(result.overall[mode].get(m)) for m in ANSWER_LABELS] for mode in result.modes]
        lines += _table(["mode", *ANSWER_LABELS.values()], rows)

    lines += _breakdown(result, result.by_language, "language")
    lines += _breakdown(result, result.by_kind, "kind")

    if result.answers:
        lines += ["## Unanswerable questions (positive class: cannot be answered)", ""]
        rows = [
            [
                mode,
                _fmt(result.overall[mode].get("unanswerable_precision")),
                _fmt(result.overall[mode].get("unanswerable_recall")),
                _fmt(result.overall[mode].get("answerable_refused")),
            ]
            for mode in result.modes
        ]
        lines += _table(["mode", "precision", "recall", "answerable refused"], rows)

    lines += [
        "## Latency per question (ms)",
        "",
        f"After {result.warmup} untimed warm-up questions per mode. *Retrieval*: language "
        f"detection and search to depth {depth} (footnotes linked, payloads read), timed by the runner. "
        "*Answer step*: the extractive answer of the `ask` call, as the service times it; *ask*: the "
        "whole call (its own retrieval of 10 passages, then the answer). Figures depend on the machine "
        "and its load.",
        "",
    ]
    keys = ["retrieve_median_ms", "retrieve_p95_ms"]
    header = ["mode", "retrieval p50", "retrieval p95"]
    if result.answers:
        keys += ["answer_median_ms", "answer_p95_ms", "ask_median_ms", "ask_p95_ms"]
        header += ["answer step p50", "answer step p95", "ask p50", "ask p95"]
    rows = [[mode] + [_fmt(result.overall[mode].get(key), 1) for key in keys] for mode in result.modes]
    lines += _table(header, rows)
    if result.seconds:
        phases = ", ".join(f"{k.replace('_', ' ')} {v:.1f} s" for k, v in result.seconds.items())
        lines += [f"Run time: {phases}.", ""]

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

    title = "## Per question: rank of the first relevant passage"
    if result.answers:
        title += " (✓ answer supports the evidence, ✗ it does not)"
    lines += [title, ""]
    by_id = {mode: {s.id: s for s in result.scores[mode]} for mode in result.modes}
    rows = []
    for question_id in result.question_ids:
        first = by_id[result.modes[0]][question_id] if result.modes else None
        if first is None:
            continue
        cells = [question_id, first.lang, first.kind]
        cells += [_first_relevant_cell(by_id[mode][question_id], result.answers) for mode in result.modes]
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

    columns = labels(result)
    if result.answers:
        columns.update({m: ANSWER_LABELS[m] for m in BREAKDOWN_ANSWER_METRICS})
    fig, ax = plt.subplots(figsize=(max(9.0, 1.1 * len(columns)), 4.5))
    metrics = list(columns)
    x = np.arange(len(metrics))
    for i, mode in enumerate(modes):
        values = [result.overall[mode].get(m) or 0.0 for m in metrics]
        bars = ax.bar(x + (i - (len(modes) - 1) / 2) * width, values, width, label=mode)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(x, [columns[m] for m in metrics], rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("score")
    what = "Retrieval and answer" if result.answers else "Retrieval"
    ax.set_title(f"{what} metrics by mode ({result.answerable} questions with evidence)")
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
