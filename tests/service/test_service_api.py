"""The service's API in process (FastAPI's TestClient), with the real model loaded once for the module.

Request cases that are data (good, broken, hostile, over a limit) are in tests/data/service/requests.jsonl:
each names the status and code it must get, and none may get a 500.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from samtaleanalyse.service import ServiceSettings, create_app  # noqa: E402
from samtaleanalyse.service.engine import Engine  # noqa: E402
from samtaleanalyse.service.openapi import DOCUMENT, dumps  # noqa: E402
from samtaleanalyse.service.schemas import AnalysisOut, BatchOut, ErrorOut, ModelsOut  # noqa: E402
from tests.service.service_cases import AUTH, DATA, OTHER_TOKEN, TOKEN, VOUCHER_COMPLAINT, body_of, load_requests, two_turns  # noqa: E402

# the shipped default model as results name it, read from its own metadata
DEFAULT_MODEL_ID = "turns-e5-int8@" + json.loads((Path(__file__).resolve().parents[2] / "models" / "turns-e5-int8" / "metadata.json").read_text())["version"]

MAX_BODY = 256 * 1024


@pytest.fixture(scope="module")
def engine(service_engine):
    return service_engine


def make_client(engine, **changes) -> TestClient:
    settings = ServiceSettings(**{"tokens": (TOKEN, OTHER_TOKEN), "workers": 2, "max_body_bytes": MAX_BODY,
                                  "max_batch": 100, **changes})
    return TestClient(create_app(settings, engine), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(engine):
    with make_client(engine) as c:
        yield c


@pytest.mark.parametrize("case", load_requests(), ids=lambda c: c["name"])
def test_request_cases_get_their_status_and_code(client, case):
    body = body_of(case, MAX_BODY)
    r = client.post(case["path"], content=body, headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == case["status"], r.text[:500]
    data = r.json()
    assert r.headers["x-request-id"]
    if r.status_code >= 400:
        err = ErrorOut.model_validate(data)
        assert err.request_id == r.headers["x-request-id"]
        if "code" in case:
            assert err.errors and err.errors[0].code == case["code"], data
            assert data["detail"].startswith(f"[{case['code']}]")
        if "reason" in case:
            assert case["reason"] in err.errors[0].reason
    elif case["path"].endswith("/batch"):
        batch = BatchOut.model_validate(data)
        assert [e.status for e in batch.results] == case["items"]
        assert [e.error.code if e.error else None for e in batch.results] == case["item_codes"]
        assert batch.scored == case["items"].count(200)
        assert all(e.index == i for i, e in enumerate(batch.results))
    else:
        AnalysisOut.model_validate(data)


def test_norwegian_voucher_complaint_finds_compensation_too_early(client):
    r = client.post("/v1/analyse", json=VOUCHER_COMPLAINT, headers=AUTH)
    assert r.status_code == 200
    result = AnalysisOut.model_validate(r.json())
    data = r.json()
    finding = next(f for f in data["findings"] if f["code"] == "compensation_too_early")
    assert finding["kind"] == "issue" and finding["turns"] == [1]
    # The guidance is cited: its document (a seed file) and its text, in Norwegian.
    assert finding["guidance"]["source"].endswith(".txt") and finding["guidance"]["text"]
    assert data["feedback_language"] == "nb" and data["language"] == "nb"
    # The voucher turn is highlighted: evidence spans the words that carry "compensation".
    turn = data["turns"][1]
    assert "compensation" in turn["behaviours"]
    spans = [e for e in turn["evidence"] if e["label"] == "compensation"]
    assert spans and "gavekort" in " ".join(turn["text"][e["start"]:e["end"]] for e in spans)
    # The same object a conversations.jsonl line holds, less the paths of files the service does not write.
    assert "feedback" not in data and data["content_hash"] and data["scored_at"] and data["redacted"] is True
    assert result.score is not None and 0 <= result.score < 100
    assert {"attitude_trajectory", "score_breakdown", "summary", "model"} <= set(data)
    assert all("uncertain" in t for t in data["turns"])


def test_options_feedback_language_redact_and_explain(client):
    conv = {"id": "opsjoner", "turns": [
        {"speaker": "kunde", "text": "Hei, jeg heter Kari Nordmann og nummeret mitt er 912 34 567. Pakken er ødelagt!"},
        {"speaker": "agent", "text": "Du får et gavekort på 500 kroner, Kari."}]}
    default = client.post("/v1/analyse", json=conv, headers=AUTH).json()
    assert "912 34 567" not in default["turns"][0]["text"] and "Nordmann" not in default["turns"][0]["text"]
    raw = client.post("/v1/analyse?redact=false", json=conv, headers=AUTH).json()
    assert "912 34 567" in raw["turns"][0]["text"] and not raw.get("redacted")
    english = client.post("/v1/analyse?feedback_language=en", json=conv, headers=AUTH).json()
    assert english["feedback_language"] == "en"
    assert {f["code"] for f in english["findings"]} == {f["code"] for f in default["findings"]}
    assert english["findings"][0]["title"] != default["findings"][0]["title"]
    explained = client.post("/v1/analyse?explain=true", json=conv, headers=AUTH).json()
    sources = {e["source"] for t in explained["turns"] for e in t.get("evidence", ())}
    assert "occlusion" in sources and "occlusion" not in {e["source"] for t in default["turns"] for e in t.get("evidence", ())}


def test_batch_results_equal_single_results(client):
    convs = [VOUCHER_COMPLAINT, {"id": "to", "turns": two_turns(2)}]
    batch = client.post("/v1/analyse/batch", json={"conversations": convs}, headers=AUTH).json()
    for conv, entry in zip(convs, batch["results"]):
        single = client.post("/v1/analyse", json=conv, headers=AUTH).json()
        for key in ("findings", "score", "turns", "content_hash"):
            assert entry["result"][key] == single[key]


def test_tokens_missing_wrong_and_rotated(client):
    assert client.post("/v1/analyse", json=VOUCHER_COMPLAINT).status_code == 401
    wrong = client.post("/v1/analyse", json=VOUCHER_COMPLAINT, headers={"Authorization": f"Bearer {TOKEN}x"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert ErrorOut.model_validate(wrong.json()).detail.startswith("wrong")
    assert client.post("/v1/analyse", json=VOUCHER_COMPLAINT, headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    for token in (TOKEN, OTHER_TOKEN):  # both while one is rotated out
        assert client.post("/v1/analyse", json=VOUCHER_COMPLAINT, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    for path in ("/v1/models", "/metrics", "/v1/analyse/batch"):
        method = client.post if "analyse" in path else client.get
        assert method(path).status_code == 401, path
    assert client.get("/health").status_code == 200  # no token needed


def test_health_and_models(client):
    health = client.get("/health").json()
    assert health == {"status": "ok", "model_loaded": True, "model": DEFAULT_MODEL_ID, "version": health["version"]}
    models = ModelsOut.model_validate(client.get("/v1/models", headers=AUTH).json()).models
    assert models[0].labels["attitude"] == ["hostile", "sceptical", "loyal", "neutral"]
    assert set(models[0].test_metrics["behaviours"].per_language) == {"nb", "nn", "da", "sv", "en"}
    assert models[0].encoder.dim == 384


def test_request_id_is_kept_or_made(client):
    mine = client.get("/health", headers={"X-Request-ID": "crm-4711.a"})
    assert mine.headers["x-request-id"] == "crm-4711.a"
    odd = client.get("/health", headers={"X-Request-ID": "bad id\twith <script>"})
    assert odd.headers["x-request-id"] != "bad id\twith <script>" and len(odd.headers["x-request-id"]) == 32
    assert client.get("/health").headers["x-request-id"] != client.get("/health").headers["x-request-id"]
    assert client.get("/health").headers["cache-control"] == "no-store"


def test_access_log_holds_no_text_unless_asked(engine, caplog):
    secret = "Sofaen jeg bestilte kom med en stor flekk"
    with caplog.at_level(logging.INFO, logger="samtaleanalyse"):
        with make_client(engine) as c:
            r = c.post("/v1/analyse", json=VOUCHER_COMPLAINT, headers={**AUTH, "X-Request-ID": "logg-1"})
            c.post("/v1/analyse", content=b"{broken", headers=AUTH)
    access = [rec for rec in caplog.records if rec.name == "samtaleanalyse.access"]
    assert len(access) == 2 and all(secret not in rec.getMessage() + json.dumps(rec.fields, default=str) for rec in caplog.records)
    fields = access[0].fields
    assert fields["status"] == 200 and fields["conversations"] == 1 and fields["route"] == "/v1/analyse"
    assert fields["bytes_in"] > 100 and fields["bytes_out"] == len(r.content) and fields["duration_ms"] > 0
    assert access[1].fields["codes"] == ["E303"]
    from samtaleanalyse.service.logs import JsonFormatter

    line = json.loads(JsonFormatter().format(access[0]))
    assert line["request_id"] == "logg-1" and line["event"] == "request"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="samtaleanalyse"):
        with make_client(engine, log_text=True) as c:
            c.post("/v1/analyse?redact=false", json=VOUCHER_COMPLAINT, headers=AUTH)
    assert any(secret in json.dumps(rec.__dict__.get("fields"), ensure_ascii=False) for rec in caplog.records)


def test_metrics_count_requests_errors_and_conversations(engine):
    with make_client(engine) as c:
        c.post("/v1/analyse", json=VOUCHER_COMPLAINT, headers=AUTH)
        c.post("/v1/analyse", content=b"[", headers=AUTH)
        c.post("/v1/analyse", json=VOUCHER_COMPLAINT)
        c.post("/v1/analyse", content=b"x" * (MAX_BODY + 1), headers=AUTH)
        text = c.get("/metrics", headers=AUTH).text
    assert 'samtaleanalyse_requests_total{method="POST",route="/v1/analyse",status="200"} 1.0' in text
    assert 'samtaleanalyse_errors_total{code="E303"} 1.0' in text
    assert 'samtaleanalyse_errors_total{code="E314"} 1.0' in text
    assert 'samtaleanalyse_errors_total{code="HTTP401"} 1.0' in text
    assert 'samtaleanalyse_conversations_scored_total{language="nb"} 1.0' in text
    assert 'samtaleanalyse_request_duration_seconds_count{route="/v1/analyse"} 4.0' in text
    assert 'samtaleanalyse_model_loaded 1.0' in text


def test_openapi_document_is_the_checked_in_file(client):
    served = client.get("/openapi.json").json()
    assert DOCUMENT.read_text(encoding="utf-8") == dumps(served), \
        "the API changed: run `python -m samtaleanalyse.service.openapi` and commit openapi.json"
    assert {"/v1/analyse", "/v1/analyse/batch", "/v1/models", "/health", "/metrics"} <= set(served["paths"])
    assert served["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_a_bug_answers_500_with_the_request_id_not_a_traceback(engine, monkeypatch):
    with make_client(engine) as c:
        monkeypatch.setattr(Engine, "model_info", lambda self: 1 / 0)
        r = c.get("/v1/models", headers=AUTH)
    assert r.status_code == 500 and "Traceback" not in r.text and "ZeroDivision" not in r.text
    assert ErrorOut.model_validate(r.json()).request_id == r.headers["x-request-id"]


def test_without_auth_no_token_is_asked(engine):
    with make_client(engine, auth=False, tokens=()) as c:
        assert c.post("/v1/analyse", json=VOUCHER_COMPLAINT).status_code == 200
        assert c.get("/v1/models").status_code == 200


def test_page_form_is_public_offline_and_in_the_asked_language(client):
    from samtaleanalyse.service.page import form_texts

    r = client.get("/", headers={"Accept-Language": "sv-SE,sv;q=0.9,en;q=0.5"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert form_texts("sv")["title"] in r.text and '<html lang="sv">' in r.text
    assert "<script" not in r.text and "http://" not in r.text and "https://" not in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert 'name="token"' in r.text
    assert form_texts("da")["title"] in client.get("/?lang=da").text


def test_page_scores_an_upload_and_refuses_without_token(client):
    vtt = (DATA / "klage_gavekort.vtt").read_bytes()
    sent = {"files": {"file": ("../../etc/klage gavekort.vtt", vtt, "text/vtt")},
            "data": {"feedback_language": "nn", "format": "auto"}}
    refused = client.post("/", **sent)
    assert refused.status_code == 401 and "role=\"alert\"" in refused.text
    r = client.post("/", files=sent["files"], data={**sent["data"], "token": TOKEN})
    assert r.status_code == 200 and '<html lang="nn">' in r.text
    assert 'data-labels="compensation"' in r.text and "klage gavekort.vtt" in r.text and "../etc" not in r.text
    pasted = client.post("/", data={"transcript": "Sjefen: Hei\nKunde: Hallo", "token": TOKEN, "lang": "nb"})
    assert pasted.status_code == 422 and "E305" in pasted.text
    empty = client.post("/", data={"transcript": "  ", "token": TOKEN})
    assert empty.status_code == 422 and "E301" in empty.text
    big = client.post("/", files={"file": ("stor.txt", b"Kunde: " + b"a" * MAX_BODY, "text/plain")},
                      data={"token": TOKEN})
    assert big.status_code == 413


@pytest.mark.parametrize("text, fmt", [("Kunde: hei\nAgent: hallo", "txt"), ('{"id": 1, "turns": []}', "json"),
                                       ('{"id": 1}\n{"id": 2}', "jsonl"), ("WEBVTT\n\n00:01.000 --> 00:02.000\nhei", "vtt"),
                                       ("1\n00:00:01,000 --> 00:00:02,000\nKunde: hei", "srt"), ("\ufeff[1]", "json")])
def test_pasted_text_is_read_as_what_it_looks_like(text, fmt):
    from samtaleanalyse.service.page import pasted_format, pasted_name

    assert pasted_format(text) == fmt
    assert pasted_name(text, "csv", "samtale") == "samtale.csv"


@pytest.mark.parametrize("header, lang", [("nb-NO,nb;q=0.9", "nb"), ("no", "nb"), ("da-DK", "da"), ("de, en;q=0.5", "en"),
                                          ("", "nb"), (None, "nb"), ("nn", "nn")])
def test_page_language_from_the_browser(header, lang):
    from samtaleanalyse.service.page import preferred_language

    assert preferred_language(header) == lang


@pytest.mark.parametrize("name, safe", [("chat.txt", "chat.txt"), ("C:\\Users\\kari\\chat.vtt", "chat.vtt"),
                                        ("../../x.json", "x.json"), ("a<b>.csv", "a_b_.csv"), ("", "upload"),
                                        ("x" * 300 + ".jsonl", "x" * 94 + ".jsonl")])
def test_upload_names_are_plain(name, safe):
    from samtaleanalyse.service.page import upload_name

    assert upload_name(name) == safe
