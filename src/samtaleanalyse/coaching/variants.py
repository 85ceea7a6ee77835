"""Which case of a finding its evidence shows, where the advice differs between cases.

One today: ``blame_shifting`` is ``customer`` when every evidence turn puts the fault on the customer
(``blame_target``); blaming a colleague, a partner or the system keeps the finding's own wording. The finding's
code, severity and points are the same either way: the variant changes what the agent reads.
"""
from __future__ import annotations

from typing import Sequence

from .blame_target import blames_customer
from .view import ConversationView

VARIANTS: dict[str, tuple[str, ...]] = {"blame_shifting": ("customer",)}


def finding_variant(code: str, view: ConversationView, turns: Sequence[int]) -> str | None:
    """The variant of finding ``code`` with evidence ``turns`` in ``view``, or None for its plain case."""
    if code == "blame_shifting" and turns and all(blames_customer(view.text_of(i), view.language) for i in turns):
        return "customer"
    return None
