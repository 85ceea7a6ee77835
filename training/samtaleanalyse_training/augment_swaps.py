"""Counterfactual copies of training conversations for the heads (issue 13, ``reencode --augment-swaps``).

The robustness check (robustness.py) finds that a conversation's findings change when only names, company
names, bokmål/nynorsk form or register change. Here every conversation of the train split is copied under
each swap of swaps.py that changes it, with the same labels, so the heads are shown that those changes do not
change the label. The copies are marked ``augmented`` and stay in train (``data.examples_of`` refuses anything
else); dev and test conversations are never copied.

Replacements are drawn with ``AUGMENT_DRAW``: its own salt (other choices than the check's for the same
conversation) and only the even positions of each name and company pool, so the check's swaps (whole pools,
on the test split) also put in names the heads never saw in a copy.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

from samtaleanalyse.corpus.model import LabelledConversation

from .augment_asr import COPY_MARK, original_id
from .data import Example, examples_of
from .swaps import SWAP_TYPES, Draw, apply_swap

AUGMENT_DRAW = Draw(salt="augment-swaps", offset=0, stride=2)


def swap_copy(conv: LabelledConversation, swap: str, draw: Draw = AUGMENT_DRAW) -> LabelledConversation | None:
    """``conv`` under ``swap`` as an augmented training copy with the same labels and findings; None where the
    swap changes nothing."""
    if conv.split != "train":
        raise ValueError(f"{conv.id}: only training conversations are augmented (split {conv.split!r})")
    out = apply_swap(conv, swap, draw)
    if out is conv:
        return None
    return replace(out, id=f"{conv.id}{COPY_MARK}{swap}", augmented=True)


def swap_copies(convs: Iterable[LabelledConversation], swaps: Sequence[str] = SWAP_TYPES,
                draw: Draw = AUGMENT_DRAW) -> list[LabelledConversation]:
    """A copy of every original training conversation under every swap in ``swaps`` that changes it."""
    out = []
    for c in convs:
        if c.split != "train" or c.augmented:
            continue
        for swap in swaps:
            copy = swap_copy(c, swap, draw)
            if copy is not None:
                out.append(copy)
    return out


def _key(e: Example) -> tuple[str, int, str, str]:
    # A turn counts as changed where its text or the other party's previous turn changed (what the encoder and
    # the n-grams see). A change only in the longer history is left out: a name is swapped the same way
    # throughout, so the cue features' overlap with it stays; the copy would mostly weigh the turn twice.
    return original_id(e.conversation_id), e.turn_index, e.text, e.context


def swap_examples(convs: Iterable[LabelledConversation], swaps: Sequence[str] = SWAP_TYPES,
                  draw: Draw = AUGMENT_DRAW) -> tuple[list[Example], dict[str, int]]:
    """The turn examples the swapped copies add, and how many per swap type. A copy's turn is added only where
    its text or context differs from its original's and from every copy's before it: a turn the swap did not
    touch would only weigh its conversation twice."""
    convs = [c for c in convs if c.split == "train" and not c.augmented]
    seen = {_key(e) for e in examples_of(convs)}
    added: list[Example] = []
    counts = dict.fromkeys(swaps, 0)
    for swap in swaps:
        for e in examples_of(swap_copies(convs, (swap,), draw)):
            k = _key(e)
            if k not in seen:
                seen.add(k)
                added.append(e)
                counts[swap] += 1
    assert all(e.split == "train" for e in added), "swapped copies must never reach dev or test"
    return added, counts
