"""Pages of the action plan's text passages, taken from its PDF (ingest/pages.py): coverage and correctness.

    .venv/bin/python benchmarks/pdf_pages.py [--show 5]

Coverage: share of the text version's passages (body, outline, footnote) that get a page.
Correctness: for each evidence span of the gold questions about the action plan
(``evaluation/gold/dev.jsonl`` and ``validation.jsonl``), the passages whose text holds it
are compared with the page(s) where the span is printed in the PDF. Those pages are found
independently of ingest/pages.py's pypdf extraction: with pdfium (pypdfium2, when
installed; pypdf otherwise), searching the span's letters in each page's text.

* ``in range``: the span's page(s) lie within the passage's page_start..page_end;
* ``exact``: the passage starts on the span's (first) page and ends on its (last) page,
  i.e. the passage's range is exactly the span's pages: strict, a passage running over
  two pages fails it for a span printed on one of them;
* outline passages list a whole chapter's headings and span its pages: reported apart.

Measured (2 CPU cores; pypdf extraction ~1 s, once per file version, then cached; locating
the 200 passages 0.05 s):

    passages with a page: 200/200 = 100.0% (body 128/128, outline 3/3, footnote 69/69)
    gold: 131 questions about the action plan, 139 evidence spans (reference pages: pdfium)
      body+footnote: 135 (span, passage) pairs: in range 135/135 = 100.0%, exact 122/135 = 90.4%
      outline: 13 pairs: in range 13/13

The 13 body pairs that are not "exact" are passages running over a page break (e.g. p. 22-23)
with the span printed on one of the two pages. Footnote pages also equal, for all 69 notes,
those the PDF reader finds (ingest/pdf_reader.py, ``Footnote.page``). Every passage is still
placed with the chunker's max_chars at 200, 400, 1500 and 3000.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ingest.chunker import chunk_document  # noqa: E402
from ingest.pages import add_pages, pdf_text  # noqa: E402
from ingest.pipeline import pdf_alternate  # noqa: E402
from ingest.readers import read_document  # noqa: E402

PLAN = "plan-action-integration-inclusion-2021-2027"
TXT = REPO / "corpus" / f"{PLAN}.txt"
GOLD = [REPO / "evaluation" / "gold" / "dev.jsonl", REPO / "evaluation" / "gold" / "validation.jsonl"]


def letters(text: str) -> str:
    """The letters, lower case, without accents (œ -> oe): the reference side's own normaliser."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isalpha())


def reference_pages(pdf: Path) -> tuple[list[str], str]:
    """Page texts by an extractor other than the one under test, and which one."""
    try:
        import pypdfium2 as pdfium
    except ImportError:  # not a dependency of the project
        from pypdf import PdfReader

        return [p.extract_text() or "" for p in PdfReader(str(pdf)).pages], "pypdf"
    doc = pdfium.PdfDocument(str(pdf))
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))], "pdfium"
    finally:
        doc.close()


def printed_on(span: str, pages: list[str]) -> list[tuple[int, int]]:
    """Every (first, last) page range where the span's letters are printed."""
    joined, starts = "", []
    for page in pages:
        starts.append(len(joined))
        joined += letters(page)

    def page_at(offset: int) -> int:
        return max(i + 1 for i, s in enumerate(starts) if s <= offset)

    needle, found, at = letters(span), [], 0
    while needle and (at := joined.find(needle, at)) >= 0:
        found.append((page_at(at), page_at(at + len(needle) - 1)))
        at += 1
    if found or len(needle) < 20:
        return found
    # cut by a page break (the page's footnotes come between): a head, and the rest soon after
    for cut in range(len(needle) - 4, 8, -1):
        head, tail, at = needle[:cut], needle[cut:], 0
        while (at := joined.find(head, at)) >= 0:
            end = joined.find(tail, at + cut, at + cut + 8000)
            if end >= 0:
                found.append((page_at(at), page_at(end + len(tail) - 1)))
            at += 1
        if found:
            break
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--show", type=int, default=5, help="print this many spans with their pages")
    args = parser.parse_args()

    doc = read_document(TXT, PLAN)
    passages = chunk_document(doc)  # the pipeline's parse_and_chunk already adds pages: start bare
    assert all(p.page_start is None for p in passages)
    pdf = pdf_alternate(TXT)
    assert pdf is not None, "corpus/sources.json declares no PDF alternate of the action plan"
    t0 = time.perf_counter()
    text = pdf_text(pdf)
    t1 = time.perf_counter()
    report = add_pages(doc, passages, text)
    t2 = time.perf_counter()
    print(f"{pdf.relative_to(REPO)}: {report.pages} pages; extract {t1 - t0:.2f} s, locate {t2 - t1:.2f} s")
    print(f"passages with a page: {sum(report.located.values())}/{sum(report.total.values())} "
          f"= {report.coverage:.1%}")  # fmt: skip
    for kind, total in sorted(report.total.items()):
        print(f"  {kind:9s} {report.located.get(kind, 0)}/{total}")
    for pid in report.missed:
        print("  no page:", pid)

    pages, extractor = reference_pages(pdf)
    questions = [json.loads(line) for path in GOLD for line in path.read_text(encoding="utf-8").splitlines()]
    questions = [q for q in questions if q.get("doc") == PLAN]
    counts: Counter[str] = Counter()
    shown = 0
    failures: list[tuple[str, str, str, tuple[int, int] | None, list[tuple[int, int]]]] = []
    for q in questions:
        for span in q["evidence"]:
            counts["spans"] += 1
            printed = printed_on(span, pages)
            holders = [p for p in passages if span in p.text]
            if not printed:
                counts["span not found in the PDF"] += 1
                continue
            if len(printed) > 1:
                counts["span printed more than once"] += 1
            if not holders:
                counts["span in no passage"] += 1
                continue
            for p in holders:
                group = "outline" if p.kind == "outline" else "body+footnote"
                counts[f"{group} pairs"] += 1
                if p.page_start is None or p.page_end is None:
                    counts[f"{group} no page"] += 1
                    failures.append((q["id"], span, p.kind, None, printed))
                    continue
                inside = any(p.page_start <= a and b <= p.page_end for a, b in printed)
                exact = any((p.page_start, p.page_end) == (a, b) for a, b in printed)
                counts[f"{group} in range"] += inside
                counts[f"{group} exact"] += exact
                if not inside:
                    failures.append((q["id"], span, p.kind, (p.page_start, p.page_end), printed))
                if shown < args.show and group != "outline":
                    shown += 1
                    print(
                        f"  {q['id']} {p.kind} p.{p.page_start}-{p.page_end}, printed on {printed}: {span[:70]!r}"
                    )
    print(f"gold: {len(questions)} questions about the action plan, {counts['spans']} evidence spans "
          f"(reference pages: {extractor})")  # fmt: skip
    for key in ("span not found in the PDF", "span printed more than once", "span in no passage"):
        print(f"  {key}: {counts[key]}")
    for group in ("body+footnote", "outline"):
        n = counts[f"{group} pairs"]
        if n:
            print(f"  {group}: {n} (span, passage) pairs: in range {counts[f'{group} in range']}/{n} "
                  f"= {counts[f'{group} in range'] / n:.1%}, exact {counts[f'{group} exact']}/{n} "
                  f"= {counts[f'{group} exact'] / n:.1%}, no page {counts[f'{group} no page']}")  # fmt: skip
    for failure in failures:
        print("  WRONG:", failure)


if __name__ == "__main__":
    main()
