"""Coaching: findings from the course of a conversation, mapped to the guidance, in the agent's language."""
from .coach import Coach, Coaching
from .config import CoachingConfig, load_config
from .rules import ISSUE_CODES, RULES, STRENGTH_CODES, detect
from .view import ConversationView, from_analysis, from_labels

__all__ = ["Coach", "Coaching", "CoachingConfig", "ConversationView", "ISSUE_CODES", "RULES", "STRENGTH_CODES",
           "detect", "from_analysis", "from_labels", "load_config"]
