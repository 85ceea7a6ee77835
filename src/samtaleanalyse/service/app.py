"""The FastAPI application: the API, the page, health, models and metrics, built from ``ServiceSettings``.

``create_app(settings)`` loads the model when the app starts (``lifespan``), unless an ``Engine`` is given
(tests share one). Every answer is JSON in one shape for errors (``schemas.ErrorOut``), with the reasons and
codes of ``errors.jsonl``: 422 for input that cannot be read, 413 for input over a limit, 401 without a good
token. Scoring runs in the engine's thread pool, never on the event loop.
"""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Optional

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException

from .._version import __version__
from ..conversation import Conversation
from ..errors import InputError
from . import schemas
from .auth import token_matches
from .engine import Engine
from .logs import LOG, event
from .metrics import Metrics
from .middleware import BodyLimit, RequestContext, request_info
from .reading import batch_items, http_status, one_conversation, parse_json
from .settings import ServiceSettings

TITLE = "samtaleanalyse"
DESCRIPTION = ("Scores customer-service conversations (nb, nn, da, sv, en): the customer's attitude and the "
               "agent's behaviours turn by turn, coaching findings with the guidance they cite, the attitude's "
               "course and a score. Problems are answered with the codes of errors.jsonl (see the README).")
_bearer = HTTPBearer(auto_error=False, description="A token of $SAMTALEANALYSE_API_TOKEN.")

FeedbackLanguage = Query(None, description="Write findings and summary in this language (default: the "
                                           "conversation's own).")
Redact = Query(True, description="Replace personal data (names, phone numbers, e-mail, ids, accounts) in the "
                                 "returned text with placeholders.")
Explain = Query(False, description="Add the model's own word attributions (character offsets in `evidence`, "
                                   "source occlusion) on the turns findings point at; several times slower.")
_ERRORS = {401: {"model": schemas.ErrorOut, "description": "No token, or a wrong one."},
           413: {"model": schemas.ErrorOut, "description": "Body, turns or a turn over a limit (E314, E317, E308)."},
           422: {"model": schemas.ErrorOut, "description": "The body or an option cannot be read (E303 broken JSON, "
                                                           "E304 wrong structure, E305 unknown speaker, E100 option...)."}}


def error_body(request: Request, errors: list[InputError] | None = None, detail: str | None = None) -> dict[str, Any]:
    errors = errors or []
    info = request_info(request.scope)
    info["codes"].extend(e.code for e in errors)
    return {"detail": detail or (str(errors[0]) if errors else "error"),
            "errors": [e.to_record().to_dict() for e in errors],
            "request_id": request.state.request_id}


def input_error_response(request: Request, errors: list[InputError]) -> JSONResponse:
    status = max(http_status(e) for e in errors)
    return JSONResponse(error_body(request, errors), status_code=status)


def create_app(settings: ServiceSettings, engine: Engine | None = None) -> FastAPI:
    settings = settings.with_body_limits()
    metrics = Metrics()
    # An engine given (the serve command's, a test's) serves at once, also where no lifespan runs.
    holder: dict[str, Engine] = {} if engine is None else {"engine": engine}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = engine is None
        holder["engine"] = Engine.load(settings) if own else engine  # type: ignore[assignment]
        metrics.model_loaded.set(1)
        event(LOG, "ready", model=holder["engine"].classifier.model.name, workers=settings.workers,
              auth=settings.auth, max_body_bytes=settings.max_body_bytes)
        try:
            yield
        finally:
            metrics.model_loaded.set(0)
            if own:
                holder.pop("engine").close()
            event(LOG, "stopped")

    app = FastAPI(title=TITLE, version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # the interactive docs fetch scripts from the internet
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.holder = holder

    # Handlers that only read memory are async: a thread hop would cost more than their work.
    def get_engine() -> Engine:
        found = holder.get("engine")
        if found is None:  # only before start-up has finished, which uvicorn does not serve
            raise StarletteHTTPException(503, "the model is not loaded yet.")
        return found

    async def require_token(request: Request, credentials: Optional[HTTPAuthorizationCredentials] = Depends(_bearer)) -> None:
        if not settings.auth:
            return
        given = credentials.credentials if credentials and credentials.scheme.lower() == "bearer" else None
        if not token_matches(given, settings.tokens):
            raise StarletteHTTPException(401, "wrong bearer token." if given else "missing bearer token (send "
                                         "Authorization: Bearer <token>).", headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail), "errors": [], "request_id": request.state.request_id},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def option_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()))
            errors.append(InputError(f"{where}: {e.get('msg', 'invalid')}.", file="request", code="E100",
                                     hint=_option_hint(where)))
        return JSONResponse(error_body(request, errors), status_code=422)

    @app.get("/health", response_model=schemas.Health, tags=["operations"],
             summary="Whether the service is up and its model loaded (no token needed).")
    async def health() -> dict[str, Any]:
        found = holder.get("engine")
        return {"status": "ok", "model_loaded": found is not None,
                "model": found.classifier.model.name if found else None, "version": __version__}

    @app.get("/v1/models", response_model=schemas.ModelsOut, tags=["model"], dependencies=[Depends(require_token)],
             responses={401: _ERRORS[401]}, summary="The model: name, version, labels, test metrics, encoder.")
    async def models() -> dict[str, Any]:
        return {"models": [get_engine().model_info()]}

    @app.post("/v1/analyse", tags=["analyse"], dependencies=[Depends(require_token)],
              summary="Score one conversation.", response_class=JSONResponse,
              responses={200: {"model": schemas.AnalysisOut, "description": "The conversation's analysis: the same "
                                                                            "object a line of conversations.jsonl holds."},
                         **_ERRORS},
              openapi_extra={"requestBody": {"required": True, "description": "One conversation (canonical JSON; "
                                             "platform exports and speech-to-text JSON are read too).",
                                             "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConversationIn"}}}}})
    async def analyse(request: Request, feedback_language: Optional[schemas.Language] = FeedbackLanguage,
                      redact: bool = Redact, explain: bool = Explain) -> Response:
        engine_ = get_engine()
        body = await request.body()
        try:
            conv = one_conversation(parse_json(body, settings.read), settings.read)
        except InputError as err:
            return input_error_response(request, [err])
        [result] = await engine_.run(engine_.score, [conv], feedback_language=feedback_language, redact=redact,
                                     explain=explain)
        if isinstance(result, InputError):
            return input_error_response(request, [result])
        _count(request, metrics, [result], settings)
        return JSONResponse(result)

    @app.post("/v1/analyse/batch", tags=["analyse"], dependencies=[Depends(require_token)],
              summary="Score several conversations; one that fails gets its own error entry.",
              responses={200: {"model": schemas.BatchOut, "description": "One entry per conversation, in order."},
                         **_ERRORS},
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/BatchIn"}}}}})
    async def analyse_batch(request: Request, feedback_language: Optional[schemas.Language] = FeedbackLanguage,
                            redact: bool = Redact, explain: bool = Explain) -> Response:
        engine_ = get_engine()
        body = await request.body()
        try:
            items = batch_items(parse_json(body, settings.read), settings.read, settings.max_batch)
        except InputError as err:
            return input_error_response(request, [err])
        convs = [i for i in items if isinstance(i, Conversation)]
        scored = iter(await engine_.run(engine_.score, convs, feedback_language=feedback_language, redact=redact,
                                        explain=explain) if convs else [])
        entries: list[dict[str, Any]] = []
        results: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            out = next(scored) if isinstance(item, Conversation) else item
            if isinstance(out, InputError):
                if out.record is None:
                    out.record = index
                request_info(request.scope)["codes"].append(out.code)
                entries.append({"index": index, "status": http_status(out), "error": out.to_record().to_dict()})
            else:
                results.append(out)
                entries.append({"index": index, "status": 200, "result": out})
        _count(request, metrics, results, settings)
        return JSONResponse({"results": entries, "scored": len(results), "failed": len(entries) - len(results)})

    @app.get("/metrics", tags=["operations"], dependencies=[Depends(require_token)], response_class=Response,
             summary="Prometheus metrics.",
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, 401: _ERRORS[401]})
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    from .page import add_page_routes

    add_page_routes(app, settings, get_engine, metrics)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(RequestContext, metrics=metrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _count(request: Request, metrics: Metrics, results: list[dict[str, Any]], settings: ServiceSettings) -> None:
    request_info(request.scope)["conversations"] = len(results)
    for r in results:
        metrics.scored.labels(str(r.get("language") or "unknown")).inc()
        if settings.log_text:
            # Only because the operator asked (serve --log-text): the conversation's turns as they were answered.
            event(LOG, "conversation", logging.INFO, id=r.get("id"),
                  turns=[{"speaker": t.get("speaker"), "text": t.get("text")} for t in r.get("turns", ())])


def _option_hint(where: str) -> str | None:
    if where.endswith("feedback_language"):
        return "use one of nb, nn, da, sv, en."
    if where.endswith(("redact", "explain")):
        return "use true or false."
    return None


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The document FastAPI makes, with the request bodies' schemas (read by hand, so not found by FastAPI)."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    _, defs = models_json_schema([(schemas.ConversationIn, "validation"), (schemas.BatchIn, "validation")],
                                 ref_template="#/components/schemas/{model}")
    doc.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
    app.openapi_schema = doc
    return doc
