"""Which case of a finding its evidence shows, where the advice differs between cases.

One today: ``blame_shifting`` is ``customer`` when every evidence turn puts the fault on the customer
(``blame_target``); blaming a colleague, a partner or the system keeps the finding's own wording. The finding's
code, severity and points are the same either way: the variant changes what the agent reads.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

from .blame_target import blames_customer
from .view import ConversationView

# finding -> variant -> whether an evidence turn's text (in a language) shows that case
_CASES: Mapping[str, Mapping[str, Callable[[str, str | None], bool]]] = {
    "blame_shifting": {"customer": blames_customer},
}
VARIANTS: Mapping[str, tuple[str, ...]] = {code: tuple(cases) for code, cases in _CASES.items()}


def finding_variant(code: str, view: ConversationView, turns: Sequence[int]) -> str | None:
    """The variant of finding ``code`` with evidence ``turns`` in ``view``, or None for its plain case."""
    for variant, shows in _CASES.get(code, {}).items():
        if turns and all(shows(view.text_of(i), view.language) for i in turns):
            return variant
    return None
