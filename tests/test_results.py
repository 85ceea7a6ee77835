"""What a scored batch leaves for people and tools: typed tables, the results store, rebuilt reports, and no
personal data anywhere unless asked for. One batch (the examples plus a conversation full of personal data)
is scored once with the shipped model and the tests read its outputs."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from samtaleanalyse.batch import ScorerSpec, score_paths
from samtaleanalyse.report.rebuild import rebuild_reports
from samtaleanalyse.store import SCHEMAS, Filters, ResultsStore

# the shipped default model as results name it, read from its own metadata
DEFAULT_MODEL_ID = "turns-e5-int8@" + json.loads((Path(__file__).resolve().parents[1] / "models" / "turns-e5-int8" / "metadata.json").read_text())["version"]

ROOT = Path(__file__).resolve().parents[1]
SECRETS = ["kari.nordmann@example.no", "912 34 567", "4111 1111 1111 1111", "Kari Nordmann", "NO93 8601 1117 947"]
PII_CHAT = {
    "id": "pii-1", "agent_id": "A9", "team": "Kort", "started_at": "2026-11-20T10:00:00Z", "turns": [
        {"speaker": "Kunde", "text": "Hei, jeg heter Kari Nordmann. Kortet mitt 4111 1111 1111 1111 er sperret og det er "
                                     "helt uakseptabelt!"},
        {"speaker": "Agent", "text": "Hei Kari, beklager så mye! Jeg forstår at det er frustrerende. Hvilken e-post "
                                     "bruker du hos oss?"},
        {"speaker": "Kunde", "text": "kari.nordmann@example.no, og ring meg på 912 34 567. Kontoen er NO93 8601 1117 947."},
        {"speaker": "Agent", "text": "Takk, Kari. Jeg har åpnet kortet nå, og jeg ringer deg i morgen for å sjekke at "
                                     "alt virker."},
    ]}


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("results")
    extra = root / "pii.jsonl"
    extra.write_text(json.dumps(PII_CHAT, ensure_ascii=False) + "\n", encoding="utf-8")
    out, db = root / "out", root / "results.duckdb"
    summary = score_paths([ROOT / "examples", extra], out, spec=ScorerSpec(), db=db)
    assert summary.scored == 10 and summary.stored == 10
    return out, db


def _all_text(folder: Path) -> str:
    parts = []
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".jsonl", ".json", ".md", ".html"):
            parts.append(path.read_text(encoding="utf-8"))
        elif path.is_file() and path.suffix == ".parquet":
            parts.append(json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False))
    return "\n".join(parts)


def test_no_personal_data_in_any_output(batch: tuple[Path, Path]) -> None:
    out, db = batch
    text = _all_text(out)
    for secret in SECRETS:
        assert secret not in text, secret
    with duckdb.connect(str(db), read_only=True) as con:
        stored = json.dumps(con.execute("SELECT * FROM conversations").fetchall(), default=str, ensure_ascii=False)
        stored += json.dumps(con.execute("SELECT text, speaker_label FROM turns").fetchall(), ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in stored, secret
    record = next(r for r in map(json.loads, (out / "conversations.jsonl").read_text().splitlines())
                  if r["id"] == "pii-1")
    assert record["redacted"] is True
    assert "[navn]" in record["turns"][0]["text"] and "[kortnummer]" in record["turns"][0]["text"]


def test_no_redact_keeps_the_raw_text(tmp_path: Path) -> None:
    path = tmp_path / "pii.jsonl"
    path.write_text(json.dumps(PII_CHAT, ensure_ascii=False) + "\n", encoding="utf-8")
    score_paths([path], tmp_path / "out", spec=ScorerSpec(no_model=True, redact=False))
    assert "kari.nordmann@example.no" in (tmp_path / "out" / "conversations.jsonl").read_text(encoding="utf-8")


def test_parquet_tables_are_typed_and_complete(batch: tuple[Path, Path]) -> None:
    out, _ = batch
    for name, schema in SCHEMAS.items():
        table = pq.read_table(out / f"{name}.parquet")
        shape = lambda sch: [(f.name, str(f.type).replace("element:", "item:")) for f in sch]  # noqa: E731
        assert shape(table.schema) == shape(schema), name  # (Parquet names list items "element")
    conversations = pq.read_table(out / "conversations.parquet").to_pylist()
    turns = pq.read_table(out / "turns.parquet")
    findings = pq.read_table(out / "findings.parquet").to_pylist()
    assert len(conversations) == 10
    ledger = [json.loads(line) for line in (out / "conversations.jsonl").read_text().splitlines()]
    assert turns.num_rows == sum(len(r["turns"]) for r in ledger)
    assert len(findings) == sum(len(r["findings"]) for r in ledger)
    row = next(c for c in conversations if c["conversation_id"] == "nb-chat-1001")
    assert row["agent_id"] == "A117" and row["team"] == "Møbler Øst" and row["model"] == DEFAULT_MODEL_ID
    assert row["rules_hash"] and row["report"].startswith("feedback/") and isinstance(row["score"], int)


def test_the_store_keeps_each_result_once_across_runs(batch: tuple[Path, Path], tmp_path: Path) -> None:
    out, db = batch
    copy = tmp_path / "results.duckdb"
    copy.write_bytes(db.read_bytes())
    again = score_paths([ROOT / "examples"], out, spec=ScorerSpec(), db=copy)  # nothing new to score or store
    assert again.scored == 0 and again.stored == 0
    with ResultsStore(copy, read_only=True) as store:
        assert store.count("conversations") == 10 and store.count("runs") == 2
        november = list(store.latest(Filters(since=__import__("datetime").date(2026, 11, 1),
                                             until=__import__("datetime").date(2026, 11, 30))))
    assert {r["id"] for r in november} == {"en-chat-501", "nb-chat-1001", "sv-chat-2040", "pii-1"}


def test_db_in_a_folder_not_made_yet_is_made(tmp_path: Path) -> None:
    """`score --db results/store.duckdb` makes results/ as --out makes its folder; a read-only open still asks
    for an existing store."""
    path = tmp_path / "not" / "yet" / "store.duckdb"
    with ResultsStore(path):
        pass
    assert path.is_file()
    from samtaleanalyse.errors import ConfigError

    with pytest.raises(ConfigError, match="no results store"):
        ResultsStore(tmp_path / "absent" / "store.duckdb", read_only=True)
    assert not (tmp_path / "absent").exists()


def test_report_rebuilds_from_the_store_alone(batch: tuple[Path, Path], tmp_path: Path) -> None:
    _, db = batch
    result = rebuild_reports(db, tmp_path / "rep", Filters(team="Kort"))
    assert result.conversations == 1
    page = (tmp_path / "rep" / "feedback" / "pii-1.html").read_text(encoding="utf-8")
    assert "<mark" in page and "Kari" not in page
    assert "pii-1" in (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "samtaleanalyse.cli", "report", "--db", str(db), "--out",
                           str(tmp_path / "rep2"), "--since", "nonsense"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "not a date" in proc.stderr


def test_workers_give_the_same_results_as_one_process(batch: tuple[Path, Path], tmp_path: Path) -> None:
    out, _ = batch
    pooled = tmp_path / "pooled"
    summary = score_paths([ROOT / "examples"], pooled, spec=ScorerSpec(), workers=2, chunk_size=2)
    assert summary.scored == 9

    def lines(folder: Path) -> dict[str, dict]:
        records = [json.loads(line) for line in (folder / "conversations.jsonl").read_text().splitlines()]
        return {r["id"]: {k: v for k, v in r.items() if k != "scored_at"} for r in records}

    one = lines(out)
    assert {k: one[k] for k in lines(pooled)} == lines(pooled)


def test_dask_on_a_local_cluster_gives_the_same_results(batch: tuple[Path, Path], tmp_path: Path) -> None:
    out, _ = batch
    dasked = tmp_path / "dask"
    summary = score_paths([ROOT / "examples"], dasked, spec=ScorerSpec(), engine="dask", workers=2, chunk_size=2)
    assert summary.scored == 9 and summary.internal_errors == 0

    def lines(folder: Path) -> dict[str, dict]:
        records = [json.loads(line) for line in (folder / "conversations.jsonl").read_text().splitlines()]
        return {r["id"]: {k: v for k, v in r.items() if k != "scored_at"} for r in records}

    local = lines(out)
    assert {k: local[k] for k in lines(dasked)} == lines(dasked)
    # Resuming holds on Dask too: a rerun has nothing left to score.
    assert score_paths([ROOT / "examples"], dasked, spec=ScorerSpec(), engine="dask", workers=2).scored == 0


def test_dask_without_its_extra_is_a_usage_error_before_anything_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from samtaleanalyse.errors import ConfigError

    monkeypatch.setitem(sys.modules, "distributed", None)  # what an install without the [dask] extra looks like
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=r"samtaleanalyse\[dask\]"):
        score_paths([ROOT / "examples"], out, spec=ScorerSpec(no_model=True), engine="dask", workers=2)
    assert not out.exists()


def test_a_scored_batch_looks_right_in_a_browser(batch: tuple[Path, Path]) -> None:
    """What a person sees in the pages the batch wrote: highlighted words, charts with a size, no personal data."""
    from tests.browser import requires_chromium, screenshot, start_chromium

    if requires_chromium.args[0]:
        pytest.skip(requires_chromium.kwargs["reason"])
    from selenium.webdriver.common.by import By

    out, _ = batch
    driver = start_chromium()
    try:
        driver.get((out / "feedback" / "pii-1.html").as_uri())
        body = driver.find_element(By.TAG_NAME, "body").text
        for secret in SECRETS:
            assert secret not in body, secret
        marks = [m for m in driver.find_elements(By.TAG_NAME, "mark") if m.is_displayed()]
        assert marks and any(m.text.strip() for m in marks)
        assert "[kortnummer]" in body
        screenshot(driver, "batch-pii-conversation")
        driver.get((out / "report.html").as_uri())
        charts = driver.find_elements(By.CSS_SELECTOR, "svg")
        assert charts and all(c.size["width"] > 0 and c.size["height"] > 0 for c in charts[:4])
        page = driver.find_element(By.TAG_NAME, "body").text
        for secret in SECRETS:
            assert secret not in page, secret
        link = driver.find_element(By.CSS_SELECTOR, "a[href$='pii-1.html']")
        link.click()
        assert driver.current_url.endswith("feedback/pii-1.html")
        driver.back()
        screenshot(driver, "batch-dashboard")
    finally:
        driver.quit()
