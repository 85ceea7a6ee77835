"""A real `samtaleanalyse serve` in a subprocess on 127.0.0.1 and a free port, for the tests that need uvicorn.

Loopback only; the process is stopped (SIGTERM, then SIGKILL) when the block ends, whatever happened.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    port: int
    log: Path

    def log_lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()


@contextmanager
def running_server(tmp: Path, *args: str, token: str | None = None, start_timeout: float = 60.0) -> Iterator[Server]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SAMTALEANALYSE_API_TOKEN"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT / "training"), env.get("PYTHONPATH", "")])
    if token:
        env["SAMTALEANALYSE_API_TOKEN"] = token
    log = tmp / f"serve-{port}.log"
    cmd = [sys.executable, "-m", "samtaleanalyse.cli", "serve", "--host", HOST, "--port", str(port), *args]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    server = Server(proc, f"http://{HOST}:{port}", port, log)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{server.url}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start in {start_timeout} s: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
