"""What an operator sets for the service, in one frozen value the app is built from."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import ConfigError
from ..ingest import Limits, ReadOptions
from ..ingest.limits import MiB

DEFAULT_MAX_BODY_BYTES = 4 * MiB
DEFAULT_MAX_BATCH = 100
# The encoder keeps the vectors of texts it has seen. A service sees new texts without end, so its cache is kept
# small: memory stays bounded, and customers' words are not held longer than they help (greetings repeat).
ENCODER_CACHE_TEXTS = 20_000


@dataclass(frozen=True)
class ServiceSettings:
    tokens: tuple[str, ...] = ()               # accepted bearer tokens; several while one is rotated
    auth: bool = True                          # False only with --no-auth, and then on loopback only
    workers: int = 2                           # scoring threads
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_batch: int = DEFAULT_MAX_BATCH         # conversations in one batch request
    read: ReadOptions = field(default_factory=ReadOptions)
    model: str | None = None                   # a model folder; None: the default model
    rules: tuple[str, ...] = ()
    guidance: tuple[str, ...] = ()
    log_text: bool = False                     # the operator asked for conversations' text in the log
    encoder_cache: int = ENCODER_CACHE_TEXTS

    def __post_init__(self) -> None:
        for name in ("workers", "max_body_bytes", "max_batch", "encoder_cache"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}.")
        if self.auth and not self.tokens:
            raise ConfigError("no API token is configured.",
                              hint="set SAMTALEANALYSE_API_TOKEN, or pass --no-auth to serve on loopback only.")

    def with_body_limits(self) -> "ServiceSettings":
        """The settings with the reader's whole-document and line limits no larger than the body limit."""
        lim = self.read.limits
        limits = Limits(max_file_bytes=self.max_body_bytes, max_document_bytes=min(lim.max_document_bytes, self.max_body_bytes),
                        max_line_bytes=min(lim.max_line_bytes, self.max_body_bytes), max_turns=lim.max_turns,
                        max_turn_chars=lim.max_turn_chars, max_id_chars=lim.max_id_chars,
                        max_meta_chars=lim.max_meta_chars, max_meta_fields=lim.max_meta_fields,
                        max_json_depth=lim.max_json_depth)
        return replace(self, read=replace(self.read, limits=limits))
