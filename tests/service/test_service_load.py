"""A real uvicorn under load, on loopback, bounded in count and time: mixed sizes, some malformed requests.

Every good request gets the answer it gets alone; every bad one its status and code; the server's memory
stays bounded. Also: a 20 MB body is refused with 413 before it is read (with a Content-Length and chunked),
and SIGTERM lets a request in flight finish.
"""
from __future__ import annotations

import asyncio
import json
import random
import select
import signal
import socket
import time
import tomllib
from typing import Any

import pytest

pytest.importorskip("fastapi")
import httpx  # noqa: E402
import psutil  # noqa: E402

from tests.service.server import HOST, running_server  # noqa: E402
from tests.service.service_cases import DATA, TOKEN, VOUCHER_COMPLAINT  # noqa: E402

AUTH = {"Authorization": f"Bearer {TOKEN}"}
REQUESTS = 120            # in all, good and bad
CONCURRENCY = 12
TIME_LIMIT_S = 90         # the whole load, however slow the machine
SIZES = (2, 12, 40)       # turns per good conversation
MAX_BODY_MB = 1
RSS_GROWTH_LIMIT = 250 * 2**20


def conversation(n: int, turns: int) -> dict[str, Any]:
    lines = tomllib.loads((DATA / "load_lines.toml").read_text(encoding="utf-8"))
    out = []
    for i in range(turns):
        role = "customer" if i % 2 == 0 else "agent"
        pool = lines[role]
        out.append({"speaker": "kunde" if role == "customer" else "agent",
                    # A few variants of each text: some the encoder has seen, some it has not.
                    "text": pool[(i // 2 + n) % len(pool)].format(n=f"{n % 7:05d}")})
    return {"id": f"last-{n}-{turns}", "turns": out}


def workload(rng: random.Random) -> list[dict[str, Any]]:
    """Requests with the status (and code) each must get, in a shuffled order."""
    jobs: list[dict[str, Any]] = []
    for n in range(REQUESTS):
        kind = n % 10
        if kind < 8:
            conv = VOUCHER_COMPLAINT if n == 0 else conversation(n, SIZES[n % len(SIZES)])
            jobs.append({"body": json.dumps(conv).encode(), "status": 200, "conv": conv})
        elif n % 40 == 8:
            jobs.append({"body": b'{"id": "x", "turns": [', "status": 422, "code": "E303"})
        elif n % 40 == 18:
            jobs.append({"body": json.dumps({"id": "x", "turns": [{"speaker": "sjefen", "text": "hei"}]}).encode(),
                         "status": 422, "code": "E305"})
        elif n % 40 == 28:
            jobs.append({"body": json.dumps(conversation(n, 2001)).encode(), "status": 413, "code": "E317"})
        elif n % 40 == 38:
            jobs.append({"body": b'{"id": "x", "text": "' + b"a" * (MAX_BODY_MB * 2**20) + b'"}', "status": 413,
                         "code": "E314"})
        else:
            jobs.append({"body": json.dumps(conversation(n, 4)).encode(), "status": 401, "auth": False})
    rng.shuffle(jobs)
    return jobs


def essence(result: dict[str, Any]) -> tuple:
    """What must not change with load: labels of every turn, findings and score."""
    turns = tuple((t.get("attitude"), tuple(t.get("behaviours") or ())) for t in result["turns"])
    return turns, tuple((f["code"], tuple(f["turns"])) for f in result["findings"]), result["score"]


async def _run(url: str, jobs: list[dict[str, Any]], pid: int) -> tuple[list[tuple[dict, httpx.Response]], int]:
    sem = asyncio.Semaphore(CONCURRENCY)
    proc = psutil.Process(pid)
    peak = [proc.memory_info().rss]
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            await asyncio.sleep(0.05)

    async with httpx.AsyncClient(base_url=url, timeout=60.0, limits=httpx.Limits(max_connections=CONCURRENCY)) as client:
        async def one(job: dict[str, Any]) -> tuple[dict, httpx.Response]:
            async with sem:
                headers = {"content-type": "application/json", **(AUTH if job.get("auth", True) else {})}
                return job, await client.post("/v1/analyse", content=job["body"], headers=headers)

        sampler = asyncio.create_task(sample())
        try:
            answers = await asyncio.wait_for(asyncio.gather(*(one(j) for j in jobs)), TIME_LIMIT_S)
        finally:
            done.set()
            await sampler
    return answers, peak[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("serve"), "--workers", "2", "--max-body-mb", str(MAX_BODY_MB),
                        token=TOKEN) as s:
        yield s


def test_concurrent_mixed_load(server):
    jobs = workload(random.Random(11))
    good = [j for j in jobs if j["status"] == 200]
    # Each distinct size alone first: the answers the loaded server must give again.
    alone = {}
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        for job in good[:12]:
            r = client.post("/v1/analyse", content=job["body"], headers={**AUTH, "content-type": "application/json"})
            assert r.status_code == 200, r.text[:300]
            alone[job["conv"]["id"]] = essence(r.json())
    rss_before = psutil.Process(server.process.pid).memory_info().rss
    start = time.perf_counter()
    answers, peak = asyncio.run(_run(server.url, jobs, server.process.pid))
    elapsed = time.perf_counter() - start
    assert len(answers) == REQUESTS and elapsed < TIME_LIMIT_S
    for job, r in answers:
        assert r.status_code == job["status"], (job.get("code"), r.text[:300])
        assert r.headers["x-request-id"]
        data = r.json()
        if r.status_code == 200:
            conv = job["conv"]
            assert data["id"] == conv["id"] and len(data["turns"]) == len(conv["turns"])
            if conv["id"] in alone:
                assert essence(data) == alone[conv["id"]]
            if conv is VOUCHER_COMPLAINT:
                assert "compensation_too_early" in {f["code"] for f in data["findings"]}
        elif "code" in job:
            assert data["errors"][0]["code"] == job["code"]
    assert peak - rss_before < RSS_GROWTH_LIMIT, f"RSS grew {(peak - rss_before) / 2**20:.0f} MiB under load"
    # The access log has a line per request, with its id and no text.
    lines = [json.loads(l) for l in server.log_lines() if l.startswith("{")]
    access = [l for l in lines if l.get("event") == "request" and l.get("route") == "/v1/analyse"]
    assert len(access) >= REQUESTS
    assert {r.headers["x-request-id"] for _, r in answers} <= {l["request_id"] for l in access}
    assert not any("ordre" in l for l in server.log_lines())


def _raw_post(port: int, headers: list[str], body_chunks, read_timeout: float = 20.0) -> tuple[bytes, int]:
    """Send a POST by hand, reading while writing; return the response head and the body bytes sent before it."""
    sent = 0
    response = b""
    with socket.create_connection((HOST, port), timeout=read_timeout) as sock:
        sock.sendall(("\r\n".join(["POST /v1/analyse HTTP/1.1", f"Host: {HOST}", *headers]) + "\r\n\r\n").encode())
        deadline = time.monotonic() + read_timeout
        pending = b""
        chunks = iter(body_chunks)
        while b"\r\n\r\n" not in response and time.monotonic() < deadline:
            if not pending:
                pending = next(chunks, b"")
            readable, writable, _ = select.select([sock], [sock] if pending else [], [], 1.0)
            try:
                if readable:
                    data = sock.recv(65536)
                    if not data:
                        break
                    response += data
                elif writable:
                    n = sock.send(pending)
                    sent += n
                    pending = pending[n:]
            except (BrokenPipeError, ConnectionResetError):
                break
    return response, sent


def test_a_20_mb_body_is_refused_unread(server):
    size = 20 * 2**20
    chunk = b"a" * 65536
    # curl sends large bodies after "Expect: 100-continue": it gets the 413 before it has sent a byte.
    head, sent = _raw_post(server.port, [f"Authorization: Bearer {TOKEN}", "Content-Type: application/json",
                                         f"Content-Length: {size}", "Expect: 100-continue"], iter(()))
    assert head.startswith(b"HTTP/1.1 413") and sent == 0, head[:200]
    head, sent = _raw_post(server.port, [f"Authorization: Bearer {TOKEN}", "Content-Type: application/json",
                                         f"Content-Length: {size}"], (chunk for _ in range(size // len(chunk))))
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    # Chunked, with no length to go by: refused once what has come passes the limit.
    chunked = (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(size // len(chunk)))
    head, sent = _raw_post(server.port, [f"Authorization: Bearer {TOKEN}", "Content-Type: application/json",
                                         "Transfer-Encoding: chunked"], chunked)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    # (How much went out before the answer depends on the kernel's socket buffers, not on the server.)
    assert httpx.get(f"{server.url}/health").status_code == 200


def test_sigterm_finishes_the_request_in_flight(server):
    """Runs last: it stops the module's server."""
    slow = {"id": "sakte", "turns": [dict(t) for t in VOUCHER_COMPLAINT["turns"] * 6]}

    async def scenario() -> httpx.Response:
        async with httpx.AsyncClient(base_url=server.url, timeout=120.0, headers=AUTH) as client:
            request = asyncio.create_task(client.post("/v1/analyse?explain=true", json=slow))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # until the slow request is being answered (this one counts too)
                metrics = (await client.get("/metrics")).text
                if "samtaleanalyse_requests_in_flight 2.0" in metrics:
                    break
                await asyncio.sleep(0.02)
            server.process.send_signal(signal.SIGTERM)
            return await request

    response = asyncio.run(scenario())
    assert response.status_code == 200 and len(response.json()["turns"]) == len(slow["turns"])
    # uvicorn raises the signal again once it has shut down, so a supervisor sees an ordinary SIGTERM exit.
    assert server.process.wait(60) in (0, -signal.SIGTERM)
    events = [json.loads(l) for l in server.log_lines() if l.startswith("{")]
    names = [e.get("event", "") for e in events]
    shutting = next(i for i, n in enumerate(names) if n.startswith("Shutting down"))
    answered = next(i for i, e in enumerate(events) if e.get("path") == "/v1/analyse" and e.get("conversations") == 1
                    and i > shutting)
    assert shutting < answered < names.index("stopped")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/health", timeout=2.0)
