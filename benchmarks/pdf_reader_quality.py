"""How much of the action plan the PDF reader recovers, measured against the text reader.

    .venv/bin/python benchmarks/pdf_reader_quality.py [--runs 5]

Prints: footnotes found; footnote text similarity (difflib character ratio, min and
mean); body coverage (share, in characters, of the text version's sentences found
verbatim in the PDF's body after normalising case, whitespace, quotes and hyphens);
block precision (share of PDF blocks equal to a text-version block, same
normalisation); marker agreement (footnotes cited by the same block in both); and the
parse time (median of --runs parses, pypdf included).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from difflib import SequenceMatcher
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evaluation.fidelity import comparable, sentences  # noqa: E402
from ingest.pdf_reader import read_pdf  # noqa: E402

PDF = REPO / "corpus" / "pdf" / "plan-action-integration-inclusion-2021-2027.pdf"
TXT = REPO / "corpus" / "plan-action-integration-inclusion-2021-2027.txt"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from ingest.text_reader import read_word_text

    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        doc = read_pdf(PDF)
        times.append(time.perf_counter() - t0)
    ref = read_word_text(TXT)

    common = sorted(set(ref.footnotes) & set(doc.footnotes))
    ratios = {
        n: SequenceMatcher(None, ref.footnotes[n].text, doc.footnotes[n].text, autojunk=False).ratio()
        for n in common
    }
    worst = min(ratios, key=ratios.__getitem__)

    body = comparable(" ".join(b.text for b in doc.blocks))
    ref_sentences = [comparable(s) for b in ref.blocks for s in sentences(b.text)]
    found = sum(len(s) for s in ref_sentences if s in body)
    total = sum(len(s) for s in ref_sentences)
    missed = [s for s in ref_sentences if s not in body]

    ref_blocks = {comparable(b.text) for b in ref.blocks}
    exact = sum(comparable(b.text) in ref_blocks for b in doc.blocks)

    def citing(d) -> dict[int, str]:
        return {n: comparable(b.text) for b in d.blocks for n in b.footnote_refs}

    pdf_citing, ref_citing = citing(doc), citing(ref)
    same_citing = sum(pdf_citing.get(n) == ref_citing[n] for n in ref_citing)

    print(f"pages                 {doc.metadata['pages']}")
    print(f"blocks                {len(doc.blocks)} (text version: {len(ref.blocks)})")
    print(
        f"footnotes found       {len(doc.footnotes)} / {len(ref.footnotes)}  numbers equal: {common == sorted(ref.footnotes) == sorted(doc.footnotes)}"
    )
    print(
        f"footnote similarity   min {ratios[worst]:.4f} (n°{worst})  mean {statistics.mean(ratios.values()):.4f}"
    )
    print(
        f"body coverage         {found / total:.2%} of {total} characters ({len(missed)} of {len(ref_sentences)} sentences missed)"
    )
    print(
        f"block precision       {exact / len(doc.blocks):.2%} ({exact}/{len(doc.blocks)} blocks equal a text-version block)"
    )
    print(f"markers on same block {same_citing}/{len(ref_citing)}")
    print(f"running lines removed {doc.metadata['running_lines_removed']}")
    print(
        f"parse time            median {statistics.median(times):.3f}s over {args.runs} runs (min {min(times):.3f}s)"
    )
    for s in missed[:10]:
        print(f"  missed: {s[:120]!r}")


if __name__ == "__main__":
    main()
