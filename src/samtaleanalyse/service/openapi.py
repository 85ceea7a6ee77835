"""The OpenAPI document, as the app serves it at /openapi.json, checked into the repository beside this file.

    python -m samtaleanalyse.service.openapi           # write openapi.json again after changing the API
    python -m samtaleanalyse.service.openapi --check   # exit status 1 when the file and the app differ

A test fails when they differ, so a change to the API is a change to this file, seen in review.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DOCUMENT = Path(__file__).with_name("openapi.json")


def document() -> dict[str, Any]:
    """The document the app serves (the same for every setting: limits and tokens are not part of it)."""
    from .app import create_app
    from .settings import ServiceSettings

    return create_app(ServiceSettings(auth=False)).openapi()


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = dumps(document())
    if "--check" in args:
        same = DOCUMENT.is_file() and DOCUMENT.read_text(encoding="utf-8") == text
        print(f"{DOCUMENT}: {'up to date' if same else 'differs from the app; run python -m samtaleanalyse.service.openapi'}")
        return 0 if same else 1
    DOCUMENT.write_text(text, encoding="utf-8")
    print(f"wrote {DOCUMENT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
