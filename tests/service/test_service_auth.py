"""Tokens, loopback-only serving without them, and the serve command's refusals (no model loaded)."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from samtaleanalyse.cli import app
from samtaleanalyse.errors import ConfigError

pytest.importorskip("fastapi")
from samtaleanalyse.service.auth import TOKEN_ENV, bearer, check_binding, is_loopback, token_matches, tokens_from_env  # noqa: E402

A, B = "a" * 24, "b-rotated-0123456789"


def test_tokens_from_env_allow_several_and_refuse_weak_ones():
    assert tokens_from_env(f"{A},{B}") == (A, B)
    assert tokens_from_env(f"  {A}\n{B} ") == (A, B)
    assert tokens_from_env("") == () and tokens_from_env(None) == ()
    for bad in ("kort", A + "\x00x", "æøåæøåæøåæøåæøåæøå"):
        with pytest.raises(ConfigError, match="not a usable token"):
            tokens_from_env(bad)


@pytest.mark.parametrize("given, ok", [(A, True), (B, True), (A + "x", False), (A[:-1], False), ("", False),
                                       (None, False), ("æ" * 24, False)])
def test_token_matches(given, ok):
    assert token_matches(given, (A, B)) is ok


def test_bearer_header():
    assert bearer(f"Bearer {A}") == A and bearer(f"bearer   {A} ") == A
    assert bearer(f"Basic {A}") is None and bearer("Bearer") is None and bearer(None) is None


@pytest.mark.parametrize("host, loop", [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True),
                                        ("localhost", True), ("0.0.0.0", False), ("192.168.1.4", False),
                                        ("::", False), ("example.org", False)])
def test_is_loopback(host, loop):
    assert is_loopback(host) is loop


def test_check_binding():
    check_binding("0.0.0.0", auth=True, tokens=(A,))
    check_binding("127.0.0.1", auth=False, tokens=())
    with pytest.raises(ConfigError, match="no API token"):
        check_binding("127.0.0.1", auth=True, tokens=())
    with pytest.raises(ConfigError, match="loopback only"):
        check_binding("0.0.0.0", auth=False, tokens=())
    with pytest.raises(ConfigError, match="unclear"):
        check_binding("127.0.0.1", auth=False, tokens=(A,))


@pytest.mark.parametrize("args, env, message", [
    ([], {}, "no API token"),
    (["--no-auth", "--host", "0.0.0.0"], {}, "loopback only"),
    ([], {TOKEN_ENV: "short"}, "not a usable token"),
    (["--model", "/nonexistent/model"], {TOKEN_ENV: A}, "E201"),
])
def test_serve_refuses_to_start(args, env, message, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    result = CliRunner().invoke(app, ["serve", "--port", "1", *args], env=env)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
