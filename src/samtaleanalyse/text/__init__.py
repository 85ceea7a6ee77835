"""Text-level processing: language identification, and the normalised text the classifiers read."""
from .language import LanguageDecision, decide, identify, identify_text, turn_distributions
from .normalise import Normalised, normalise_turn

__all__ = ["LanguageDecision", "Normalised", "decide", "identify", "identify_text", "normalise_turn",
           "turn_distributions"]
