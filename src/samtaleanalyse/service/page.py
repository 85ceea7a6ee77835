"""The web page: paste or upload a transcript, pick the feedback language, see the per-conversation report.

The page is the report's own template extended (``templates/page.html.j2`` extends
``report/templates/conversation.html.j2``) with a form above it: one look for the report a batch writes and
the page a reviewer uses. It needs no script and nothing from the internet; the form posts and the server
answers with the whole page. The empty form is public (it holds nothing); scoring needs the token, given in
the form or as a bearer header. Uploads are held in memory within the body limit, never spooled to disk.
"""
from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from ..conversation import LANGUAGES, Conversation
from ..errors import E_EMPTY_FILE, E_INTERNAL, E_UNKNOWN_FORMAT, InputError
from ..ingest.reader import FORMATS
from ..report.conversation import conversation_context, load_page_texts, report_css, template_environment
from .auth import bearer, token_matches
from .engine import Engine
from .metrics import Metrics
from .middleware import request_info
from .reading import http_status, read_upload
from .settings import ServiceSettings

HERE = Path(__file__).parent
FORMAT_CHOICES = ("auto", "txt", "json", "jsonl", "csv", "vtt", "srt")
# The page's own answers must not be framed, cached, or allowed to load anything from elsewhere.
PAGE_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
MAX_NAME_CHARS = 100


@lru_cache(maxsize=None)
def form_texts(language: str) -> Mapping[str, str]:
    return tomllib.loads((HERE / "texts" / f"{language}.toml").read_text(encoding="utf-8"))["form"]


@lru_cache(maxsize=1)
def _page_css() -> Markup:
    return Markup((HERE / "templates" / "page.css").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _environment():  # type: ignore[no-untyped-def]
    return template_environment(HERE / "templates")


def preferred_language(accept: str | None) -> str:
    """The first of the page's languages the browser asks for (``no`` and ``nb-NO`` are bokmål); else nb."""
    for part in (accept or "").split(","):
        tag = part.split(";")[0].strip().lower()
        base = tag.split("-")[0]
        if base in ("no", "nb"):
            return "nb"
        if base in LANGUAGES:
            return base
    return "nb"


def pasted_name(text: str, fmt: str, stem: str = "pasted") -> str:
    """A file name whose extension makes the reader read pasted text as ``fmt`` (``auto``: by its look); its
    stem is the id of a conversation that names none."""
    return f"{stem}.{fmt if fmt != 'auto' else pasted_format(text)}"


def pasted_format(text: str) -> str:
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("WEBVTT"):
        return "vtt"
    if head.startswith(("{", "[")):
        lines = [l for l in head.splitlines() if l.strip()]
        return "jsonl" if len(lines) > 1 and all(l.lstrip().startswith("{") for l in lines) else "json"
    lines = [l.strip() for l in head.splitlines()[:3]]
    if len(lines) >= 2 and lines[0].isdigit() and "-->" in lines[1]:
        return "srt"
    return "txt"


def upload_name(name: str | None) -> str:
    """An uploaded file's name as the reader and the report see it: the last part only, plain and short."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .") or "upload"
    stem, dot, ext = base.rpartition(".")
    if dot and len(base) > MAX_NAME_CHARS:
        base = stem[: MAX_NAME_CHARS - len(ext) - 1] + "." + ext[:10]
    return base[:MAX_NAME_CHARS]


def render_page(*, lang: str, auth: bool, record: Mapping[str, Any] | None = None, guidance: Any = None,
                errors: list[InputError] | tuple[InputError, ...] = (), transcript: str = "", fmt: str = "auto",
                feedback_language: str = "auto", explain: bool = False, choices: tuple[str, ...] = (),
                chosen: str | None = None) -> str:
    """The page: the form (with what was sent, and any errors), and the report of ``record`` when there is one."""
    if record is not None:
        context = conversation_context(record, guidance=guidance)
        lang = context["lang"]
    else:
        context = {"lang": lang, "t": load_page_texts(lang).page, "css": report_css()}
    f = form_texts(lang)
    names = load_page_texts(lang).languages
    context.update({
        "record": record, "f": f, "page_css": _page_css(), "auth": auth, "errors": list(errors),
        "transcript": transcript, "format": fmt, "feedback_language": feedback_language, "explain": explain,
        "formats": [(v, f["format_auto"] if v == "auto" else v.upper()) for v in FORMAT_CHOICES],
        "languages": [("auto", f["language_auto"])] + [(code, names[code]) for code in LANGUAGES],
        "accept": ",".join(sorted(FORMATS)), "choices": choices, "chosen": chosen,
        "pick_note": f["pick"].format(n=len(choices), id=chosen) if choices else "",
    })
    return _environment().get_template("page.html.j2").render(**context)


def add_page_routes(app: FastAPI, settings: ServiceSettings, get_engine: Callable[[], Engine],
                    metrics: Metrics) -> None:

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request, lang: str | None = None) -> HTMLResponse:
        language = lang if lang in LANGUAGES else preferred_language(request.headers.get("accept-language"))
        return HTMLResponse(render_page(lang=language, auth=settings.auth), headers=PAGE_HEADERS)

    @app.post("/", response_class=HTMLResponse, include_in_schema=False)
    async def submit(request: Request) -> HTMLResponse:
        language = preferred_language(request.headers.get("accept-language"))
        try:
            form = await _read_form(request, settings.max_body_bytes)
            if form.get("lang") in LANGUAGES:
                language = str(form["lang"])  # the language the form was shown in
        except MultiPartException as exc:
            err = InputError(f"the form could not be read: {exc.message}", file="form", code=E_UNKNOWN_FORMAT)
            return _answer(request, render_page(lang=language, auth=settings.auth, errors=[err]), 422, [err])
        text = form.get("transcript") if isinstance(form.get("transcript"), str) else ""
        fmt = str(form.get("format") or "auto")
        fmt = fmt if fmt in FORMAT_CHOICES else "auto"
        wanted = str(form.get("feedback_language") or "auto")
        feedback_language = wanted if wanted in LANGUAGES else None
        explain = form.get("explain") == "1"
        chosen = form.get("conversation") if isinstance(form.get("conversation"), str) else None
        shown = dict(lang=feedback_language or language, auth=settings.auth, transcript=str(text), fmt=fmt,
                     feedback_language=wanted if feedback_language else "auto", explain=explain)
        if settings.auth:
            given = form.get("token") if isinstance(form.get("token"), str) else None
            if not token_matches(given or bearer(request.headers.get("authorization")), settings.tokens):
                err = InputError(form_texts(shown["lang"])["bad_token"], file="form", code="HTTP401")
                return _answer(request, render_page(errors=[err], **shown), 401, [err])
        upload = form.get("file")
        data, name = b"", ""
        if isinstance(upload, UploadFile) and upload.filename:
            data, name = await upload.read(), upload_name(upload.filename)
        if not data.strip() and str(text).strip():
            data, name = str(text).encode("utf-8"), pasted_name(str(text), fmt, form_texts(shown["lang"])["pasted_id"])
        if not data.strip():
            err = InputError(form_texts(shown["lang"])["empty"], file="form", code=E_EMPTY_FILE)
            return _answer(request, render_page(errors=[err], **shown), 422, [err])
        engine = get_engine()
        try:
            items = await engine.run(read_upload, data, name, settings.read)
        except Exception as exc:  # noqa: BLE001 - a reader's bug costs this answer only, as in a batch
            items = [InputError(f"internal error while reading: {type(exc).__name__}.", file=name, code=E_INTERNAL)]
        convs = [i for i in items if isinstance(i, Conversation)]
        errors = [i for i in items if isinstance(i, InputError)]
        if not convs:
            status = max((http_status(e) for e in errors), default=422)
            return _answer(request, render_page(errors=errors, **shown), status, errors)
        ids = tuple(c.id for c in convs)
        conv = next((c for c in convs if c.id == chosen), convs[0])
        [result] = await engine.run(engine.score, [conv], feedback_language=feedback_language, redact=True,
                                    explain=explain)
        if isinstance(result, InputError):
            return _answer(request, render_page(errors=[result], **shown), http_status(result), [result])
        request_info(request.scope)["conversations"] = 1
        metrics.scored.labels(str(result.get("language") or "unknown")).inc()
        html = render_page(record=result, guidance=engine.guidance, errors=errors, choices=ids if len(ids) > 1 else (),
                           chosen=conv.id, **shown)
        return _answer(request, html, 200, errors)


async def _read_form(request: Request, limit: int) -> dict[str, Any]:
    """The form's fields; the upload kept in memory (the body is within ``limit`` already)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return dict(await request.form(max_files=0, max_fields=16, max_part_size=limit))
    parser = MultiPartParser(request.headers, request.stream(), max_files=1, max_fields=16, max_part_size=limit)
    parser.spool_max_size = limit + 1  # customers' words stay in memory, not in a temporary file
    return dict(await parser.parse())


def _answer(request: Request, html: str, status: int, errors: list[InputError] | tuple[InputError, ...]) -> HTMLResponse:
    info = request_info(request.scope)
    info["codes"].extend(e.code for e in errors)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
