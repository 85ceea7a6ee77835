"""benchmarks/dev_parallel.py: the dev-side parallel groups and the count of differing codes (the refit itself
is a benchmark, run by hand)."""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import dev_parallel  # noqa: E402
from samtaleanalyse.conversation import LANGUAGES  # noqa: E402


def test_groups_are_train_sources_with_their_copies_in_the_other_languages():
    corpus = ROOT / "data" / "annotated" / "conversations"
    convs = dev_parallel.parallel_groups(corpus, dev_parallel.DRAW)
    by_group: dict[str, set[str]] = {}
    for c in convs:
        by_group.setdefault(dict(c.extra)["parallel_id"], set()).add(c.language)
    assert len(by_group) == 30 and all(c.split == "train" for c in convs)
    complete = [g for g, langs in by_group.items() if langs == set(LANGUAGES)]
    assert len(complete) == 29 and by_group["nb-a-009"] == set(LANGUAGES) - {"en"}  # the draw's README says why
    sources = {c.id for c in convs if not c.augmented}
    assert sources == set(by_group)  # each group holds its source conversation, unchanged
    # no shipped training data holds them: the default translated copies come from other sources
    from samtaleanalyse_training.augment_asr import original_id
    from samtaleanalyse_training.translated import load_translated

    assert not sources & {original_id(c.id) for c in load_translated(corpus)}


def test_odd_codes_counts_each_differing_code_and_its_smaller_side():
    langs = ["nb", "nn", "da", "sv", "en"]
    disagreements = [
        {"id": "a", "nb": ["x", "y"], "nn": ["x", "y"], "da": ["x", "y"], "sv": ["x", "y"], "en": ["x"]},
        {"id": "b", "nb": ["z"], "nn": ["z"], "da": [], "sv": [], "en": []},
    ]
    codes, odd = dev_parallel.odd_codes(disagreements, langs)
    assert codes == Counter({"y": 1, "z": 1})  # x is in every language: not a difference
    assert odd == Counter({("y", "en"): 1, ("z", "nb"): 1, ("z", "nn"): 1})
