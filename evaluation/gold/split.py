"""Split the hand-written gold set into ``dev.jsonl`` and ``validation.jsonl`` -- ONCE.

This script was run a single time, when the set was written, before any tuning began.
It must NOT be rerun after tuning began: a new split would mix questions that settings
were chosen on into the validation half, and the validation scores would stop being an
honest estimate. It refuses to overwrite existing split files for that reason
(``--force`` exists only for rebuilding the set from scratch, before anyone tunes on it).

Rule: ``dev`` is for tuning (look at it, choose settings on it); ``validation`` is for
reporting only and is never used to choose a setting.

Method (standard library only, deterministic): the questions of ``questions.jsonl`` are
grouped by (kind, lang) cell; each cell is shuffled with ``random.Random(SEED)`` and cut
in two equal halves; the odd question left over by a cell goes to the split that keeps
the per-kind and per-language counts closest to 50/50 (ties broken by the same generator).
Both files keep the order of ``questions.jsonl`` (by id).

Usage: ``python3 evaluation/gold/split.py`` (from the repository root or anywhere).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

SEED = 20201124  # the action plan's date, COM(2020) 758 of 24.11.2020
HERE = Path(__file__).resolve().parent
SOURCE = HERE / "questions.jsonl"
DEV = HERE / "dev.jsonl"
VALIDATION = HERE / "validation.jsonl"


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def split(rows: list[dict], seed: int = SEED) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    cells: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: r["id"]):
        cells[(row["kind"], row["lang"])].append(row)

    side: dict[str, str] = {}
    kind_count: dict[str, Counter] = {"dev": Counter(), "validation": Counter()}
    lang_count: dict[str, Counter] = {"dev": Counter(), "validation": Counter()}

    def put(row: dict, name: str) -> None:
        side[row["id"]] = name
        kind_count[name][row["kind"]] += 1
        lang_count[name][row["lang"]] += 1

    leftovers: list[dict] = []
    for key in sorted(cells):
        members = cells[key][:]
        rng.shuffle(members)
        half = len(members) // 2
        for row in members[:half]:
            put(row, "dev")
        for row in members[half : 2 * half]:
            put(row, "validation")
        leftovers.extend(members[2 * half :])

    rng.shuffle(leftovers)
    for row in leftovers:

        def imbalance(name: str, k: str = row["kind"], lang: str = row["lang"]) -> int:
            other = "validation" if name == "dev" else "dev"
            return abs(kind_count[name][k] + 1 - kind_count[other][k]) + abs(
                lang_count[name][lang] + 1 - lang_count[other][lang]
            )

        dev_cost, val_cost = imbalance("dev"), imbalance("validation")
        if dev_cost == val_cost:
            total_dev, total_val = sum(kind_count["dev"].values()), sum(kind_count["validation"].values())
            if total_dev != total_val:
                name = "dev" if total_dev < total_val else "validation"
            else:
                name = rng.choice(["dev", "validation"])
        else:
            name = "dev" if dev_cost < val_cost else "validation"
        put(row, name)

    dev = [r for r in rows if side[r["id"]] == "dev"]
    validation = [r for r in rows if side[r["id"]] == "validation"]
    return dev, validation


def write(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--force", action="store_true", help="overwrite existing splits (never after tuning began)"
    )
    args = parser.parse_args(argv)
    if (DEV.exists() or VALIDATION.exists()) and not args.force:
        print(
            f"{DEV.name} / {VALIDATION.name} already exist: the split is made once and must not be "
            "redone after tuning began (see the docstring).",
            file=sys.stderr,
        )
        return 1
    rows = load(SOURCE)
    dev, validation = split(rows)
    write(DEV, dev)
    write(VALIDATION, validation)
    print(f"dev: {len(dev)} questions, validation: {len(validation)} questions (seed {SEED})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
