"""Reading transcripts of every format contact centres export into ``Conversation``s."""
from .build import RawTurn, ReadOptions, build_conversation
from .limits import DEFAULT_LIMITS, Limits
from .reader import FORMATS, ReadResult, iter_conversations, read_conversations, read_file
from .speakers import DEFAULT_LABELS, SpeakerMap

__all__ = ["DEFAULT_LABELS", "DEFAULT_LIMITS", "FORMATS", "Limits", "RawTurn", "ReadOptions", "ReadResult",
           "SpeakerMap", "build_conversation", "iter_conversations", "read_conversations", "read_file"]
