"""Bearer tokens: read from the environment, checked in constant time, and loopback-only serving without them.

``SAMTALEANALYSE_API_TOKEN`` holds one token or several (separated by commas or white space), so a new token
can be handed out while the old one still works, and the old one removed later. A token is compared with
every configured token by ``hmac.compare_digest`` (no early exit on the first match either), so the time
a check takes tells nothing about how much of a guess was right.
"""
from __future__ import annotations

import hmac
import ipaddress
import re

from ..errors import ConfigError

TOKEN_ENV = "SAMTALEANALYSE_API_TOKEN"
MIN_TOKEN_CHARS = 16
_TOKEN = re.compile(r"^[\x21-\x7e]+$")
_SPLIT = re.compile(r"[\s,]+")
MAKE_TOKEN = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def tokens_from_env(value: str | None) -> tuple[str, ...]:
    """The tokens of the environment variable's value; ``ConfigError`` for one that is too short or odd."""
    tokens = tuple(t for t in _SPLIT.split(value or "") if t)
    for i, token in enumerate(tokens, 1):
        if len(token) < MIN_TOKEN_CHARS or not _TOKEN.match(token):
            raise ConfigError(f"token {i} of ${TOKEN_ENV} is not a usable token: it must be at least {MIN_TOKEN_CHARS} "
                              "printable characters without spaces or commas.",
                              hint=f"make one with {MAKE_TOKEN}.")
    return tokens


def token_matches(given: str | None, tokens: tuple[str, ...]) -> bool:
    """Whether ``given`` is one of ``tokens``; every token is compared, each in constant time."""
    if given is None:
        given = ""
    candidate = given.encode("utf-8", "replace")
    found = False
    for token in tokens:
        found |= hmac.compare_digest(candidate, token.encode("utf-8"))
    return found and bool(given)


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    return (value.strip() or None) if scheme.lower() == "bearer" else None


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the service on this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, *, auth: bool, tokens: tuple[str, ...]) -> None:
    """Refuse a service that would answer anyone without a token (``ConfigError`` saying what to do)."""
    if auth and not tokens:
        raise ConfigError("no API token is configured, and the service refuses to start without one.",
                          hint=f"set ${TOKEN_ENV} (make a token with {MAKE_TOKEN}), or pass --no-auth to serve "
                               "on loopback (127.0.0.1) only.")
    if not auth and tokens:
        raise ConfigError(f"--no-auth was given while ${TOKEN_ENV} is set; it is unclear which is meant.",
                          hint=f"unset ${TOKEN_ENV} to serve without tokens, or drop --no-auth.")
    if not auth and not is_loopback(host):
        raise ConfigError(f"--no-auth serves on loopback only, not on {host!r}.",
                          hint=f"bind to 127.0.0.1, or set ${TOKEN_ENV} to serve other machines.")
