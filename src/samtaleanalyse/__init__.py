"""samtaleanalyse: conversation-quality analysis and coaching for Nordic customer service."""
from .analysis import AnalysedConversation
from .batch import BatchSummary, score_paths
from .conversation import Conversation, Metadata, Turn
from .errors import ConfigError, InputError, ModelError, SamtaleError
from .ingest import ReadOptions, ReadResult, SpeakerMap, iter_conversations, read_conversations
from .pipeline import analyse
from .text import identify, identify_text

from ._version import __version__

__all__ = [
    "AnalysedConversation", "BatchSummary", "ConfigError", "Conversation", "InputError", "Metadata", "ModelError",
    "ReadOptions", "ReadResult", "SamtaleError", "SpeakerMap", "Turn", "__version__", "analyse", "identify",
    "identify_text", "iter_conversations", "read_conversations", "score_paths",
]
