"""Text-level processing: language identification (later: sentences and normalisation)."""
from .language import LanguageDecision, decide, identify, identify_text, turn_distributions

__all__ = ["LanguageDecision", "decide", "identify", "identify_text", "turn_distributions"]
