"""The server killed (SIGKILL) in the middle of uploads, a deletion and the start-up ingest:
after each restart every acknowledged document is whole, and no unacknowledged text is
citable (issue "Nothing lost, nothing blocked", item 3).

One data dir goes through five servers. Each patched server (a child running uvicorn, killed
by ``tests/index/test_faults.kill_when`` as soon as it prints ``PAUSED``) first reports what
the restarted index serves (a ``STATE`` line: documents, and which marker words a search
finds), then starts the write it is killed in:

1. a new upload, killed after its passages are written, before its manifest record;
2. a replacing upload, killed after the old version's points are deleted, before the record;
3. a deletion, killed after the points are deleted, before the record;
4. the start-up ingest of a new corpus file, killed before its record.

A last, unpatched server is asked directly, and the stored points are read back and checked
against the manifest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import upload
from tests.conftest import CORPUS
from tests.index.test_faults import kill_when, read_index
from tests.live_server import free_port, live_server

pytestmark = pytest.mark.slow

KEY = "crash-test-key"
HEADERS = {"X-API-Key": KEY}
WEB = "reseaux-cooperation-ue-integration-migrants"


def note(place: str, word: str) -> str:
    return (
        f"Note sur le guichet de {place}\n\n"
        f"La commune de {place} a ouvert un guichet pour l’accueil des personnes réfugiées ; "
        f"son nom de code est {word}. Le guichet propose des cours de langue et une aide au logement.\n\n"
        f"Le guichet {word} est financé par le Fonds «Asile, migration et intégration».\n"
    )


#: Marker words: each is in exactly one version of one document.
V1, V2, NEW, KEPT, CORPUS_WORD = "zorglubium", "quetzalium", "ornithorynquium", "gardenium", "corpusium"

# A uvicorn server in a child, patched to pause (and be killed) at one step; it reports the
# index it serves, then starts the write to be interrupted. The parent reads its stdout.
CHILD = """
import json, logging, os, sys, threading, time
os.environ["POLICYQA_API_KEYS"] = {key!r}
os.environ["POLICYQA_PRIME_ANSWER_CACHE"] = "false"
logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(name)s: %(message)s")
import httpx, uvicorn

def pause(what):
    print("PAUSED " + what, flush=True)
    time.sleep(3600)

{patch}

BASE = "http://127.0.0.1:{port}"
HEADERS = {{"X-API-Key": {key!r}}}

def act():
    while True:
        try:
            if httpx.get(BASE + "/ready", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    docs = httpx.get(BASE + "/documents", timeout=60).json()["documents"]
    found = {{}}
    for word in {words!r}:
        hits = httpx.get(BASE + "/search", params={{"q": word, "mode": "bm25"}}, timeout=60).json()["passages"]
        found[word] = any(word in h["text"] for h in hits)
    print("STATE " + json.dumps({{"documents": sorted(d["doc_id"] for d in docs), "found": found}}), flush=True)
{action}

threading.Thread(target=act, daemon=True).start()
uvicorn.run("api.main:create_app", factory=True, host="127.0.0.1", port={port}, log_level="warning")
"""

PAUSE_IN_FINISH = """
from index.indexing import Indexer
_finish = Indexer._finish
def finish(self, doc, fp, result):
    if doc.doc_id == {doc_id!r}:
        pause("before the record of " + doc.doc_id)
    return _finish(self, doc, fp, result)
Indexer._finish = finish
"""

PAUSE_IN_MANIFEST = """
from index.stores.manifest import SqliteManifest
_original = SqliteManifest.{method}
def patched(self, arg):
    doc_id = arg["doc_id"] if isinstance(arg, dict) else arg
    if doc_id == {doc_id!r}:
        pause("{method} of " + doc_id)
    return _original(self, arg)
SqliteManifest.{method} = patched
"""

UPLOAD = """
    httpx.post(BASE + "/documents", headers=HEADERS, timeout=60,
               files={{"file": ({name!r}, {text!r}.encode(), "text/plain")}}, data={{"replace": "true"}})
"""
DELETE = """
    httpx.delete(BASE + "/documents/{doc_id}", headers=HEADERS, timeout=600)
"""


def run_killed(workdir: Path, patch: str, action: str, log: str) -> dict:
    """A patched server on workdir's data: returns the STATE it served before being killed."""
    code = CHILD.format(key=KEY, port=free_port(), patch=patch, action=action or "    pass", words=WORDS)
    output = kill_when(code, "PAUSED", workdir / "data", workdir / "corpus", workdir / log)
    states = [json.loads(line[6:]) for line in output.splitlines() if line.startswith("STATE ")]
    return states[-1] if states else {}


WORDS = [V1, V2, NEW, KEPT, CORPUS_WORD]


def assert_points_match_the_manifest(data_dir: Path) -> None:
    """Every stored point belongs to a manifest record, carries its fingerprint, and every
    record has all its passages."""
    state = read_index(data_dir)
    assert {p["meta"]["doc_id"] for p in state.points} == set(state.manifest)
    for doc_id, record in state.manifest.items():
        assert state.fingerprints(doc_id) == {record["fingerprint"]}, doc_id
        ids = state.ids(doc_id)
        assert len(ids) == len(set(ids)) == record["passages"] + record["footnotes"], doc_id


def test_kills_during_uploads_deletes_and_ingest_lose_nothing_acknowledged(tmp_path: Path):
    corpus_files = [f"{WEB}.txt"]
    env = {"POLICYQA_API_KEYS": KEY}
    # 0. two acknowledged uploads
    with (
        live_server(tmp_path, corpus_files, env=env) as base,
        httpx.Client(base_url=base, timeout=120) as client,
    ):
        for name, text in (("Brumecourt.txt", note("Brumecourt", V1)), ("Garder.txt", note("Garde", KEPT))):
            status, body = upload(client, name, text.encode(), headers=HEADERS)
            assert status == 200 and body["status"] == "added", body

    # 1. a new upload killed after its passages are written, before its record
    run_killed(
        tmp_path,
        PAUSE_IN_FINISH.format(doc_id="upload-nouveau"),
        UPLOAD.format(name="Nouveau.txt", text=note("Nouveauville", NEW)),
        "kill-1.log",
    )
    # 2. a replacing upload killed after the old points are deleted, before the record
    state = run_killed(
        tmp_path,
        PAUSE_IN_MANIFEST.format(method="put", doc_id="upload-brumecourt"),
        UPLOAD.format(name="Brumecourt.txt", text=note("Brumecourt", V2)),
        "kill-2.log",
    )
    assert "upload-nouveau" not in state["documents"]
    assert state["found"][V1] and state["found"][KEPT] and not state["found"][NEW], state
    # 3. a deletion killed after the points are deleted, before the record
    state = run_killed(
        tmp_path,
        PAUSE_IN_MANIFEST.format(method="delete", doc_id="upload-garder"),
        DELETE.format(doc_id="upload-garder"),
        "kill-3.log",
    )
    assert {"upload-brumecourt", "upload-garder"} <= set(state["documents"])
    assert state["found"][V1] and not state["found"][V2] and not state["found"][NEW], state
    # 4. the start-up ingest of a new corpus file killed before its record
    shutil.copy(CORPUS / "sources.json", tmp_path / "corpus" / "sources.json")
    (tmp_path / "corpus" / "zz-note.txt").write_text(note("Corpusville", CORPUS_WORD), encoding="utf-8")
    state = run_killed(tmp_path, PAUSE_IN_FINISH.format(doc_id="zz-note"), "", "kill-4.log")
    assert state == {}  # killed during start-up: never ready

    # 5. a plain restart: everything acknowledged is there and whole, nothing else is citable
    with (
        live_server(tmp_path, corpus_files, env=env) as base,
        httpx.Client(base_url=base, timeout=120) as client,
    ):
        docs = {d["doc_id"] for d in client.get("/documents").json()["documents"]}
        # the deletion was never acknowledged: its document was completed from the kept copy
        assert docs == {WEB, "zz-note", "upload-brumecourt", "upload-garder"}
        for word, citable in ((V1, True), (KEPT, True), (CORPUS_WORD, True), (V2, False), (NEW, False)):
            hits = client.get("/search", params={"q": word, "mode": "bm25"}).json()["passages"]
            assert any(word in h["text"] for h in hits) is citable, word
        report = client.get("/ready").json()
        assert report["ready"] is True
    assert_points_match_the_manifest(tmp_path / "data")
    kept = sorted(p.name for p in (tmp_path / "data" / "uploads").iterdir())
    assert kept == ["upload-brumecourt.txt", "upload-garder.txt"]  # no half-written copy left
    assert note("Brumecourt", V1) == (tmp_path / "data" / "uploads" / "upload-brumecourt.txt").read_text(
        encoding="utf-8"
    )
