"""A fixed train/dev/test split by conversation, stratified by language and channel.

Near-duplicates land in the same split (a test conversation whose twin is in train would
flatter the model); augmented conversations always train.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import replace
from typing import Sequence

from .model import LabelledConversation
from .similarity import near_duplicate_pairs

DEFAULT_FRACTIONS = (("train", 0.70), ("dev", 0.15), ("test", 0.15))


def _order_key(seed: int, conv_id: str) -> str:
    return hashlib.sha256(f"{seed}:{conv_id}".encode()).hexdigest()


def assign_splits(convs: Sequence[LabelledConversation], seed: int = 13,
                  keep_existing: bool = True) -> list[LabelledConversation]:
    """Give every conversation a split; with ``keep_existing`` a stored split never moves."""
    parent = list(range(len(convs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, _ in near_duplicate_pairs(convs):
        parent[find(i)] = find(j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(convs)):
        groups[find(i)].append(i)

    result: dict[int, str] = {}
    buckets: dict[tuple[str, str], list[int]] = defaultdict(list)
    for root, members in groups.items():
        fixed = next((convs[m].split for m in members if keep_existing and convs[m].split), None)
        if any(convs[m].augmented for m in members):
            fixed = "train"
        if fixed:
            for m in members:
                result[m] = fixed
        else:
            head = convs[members[0]]
            buckets[(head.language, head.channel)].append(root)
    for (lang, channel), roots in sorted(buckets.items()):
        roots.sort(key=lambda r: _order_key(seed, convs[r].id))
        n = len(roots)
        bounds, acc = [], 0.0
        for _, frac in DEFAULT_FRACTIONS:
            acc += frac
            bounds.append(round(acc * n))
        for pos, root in enumerate(roots):
            split = next(name for (name, _), b in zip(DEFAULT_FRACTIONS, bounds) if pos < b)
            for m in groups[root]:
                result[m] = split
    return [replace(c, split=result[i]) for i, c in enumerate(convs)]
