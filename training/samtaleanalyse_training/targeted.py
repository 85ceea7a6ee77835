"""Conversations written for the failure modes seen on real text (issue 13), kept apart from the corpus.

``data/annotated/targeted/<language>.jsonl`` holds whole labelled conversations in the corpus's format, written
to the guidelines around the cases the model got wrong on real support threads: a fix offered as a question, a
request without a question mark, a link as the fix or as background, "DM us" against a real follow-up, "sorry to
hear" against "sorry for", emotive but neutral customers against hashtag and sarcastic hostility, polite thanks
against loyalty, negated apologies and contradictions, and the surface of real exports (@handles, split messages,
signature tags, quoted e-mail history). They only ever train: the corpus's dev and test splits keep measuring what
they measured, and the contrast sets of ``data/annotated/eval/`` (never shown to their writers) measure the cases.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from samtaleanalyse.corpus import LabelledConversation, load_corpus, validate_corpus
from samtaleanalyse.corpus.similarity import NEAR_DUPLICATE_JACCARD, near_duplicate_pairs

TARGETED_DIR = Path(__file__).resolve().parents[2] / "data" / "annotated" / "targeted"


class TargetedDataError(ValueError):
    """A targeted conversation that cannot train (the message names the file and line of each problem)."""


def load_targeted(corpus: str | Path, folder: str | Path | None = None) -> list[LabelledConversation]:
    """The conversations of ``folder`` (default ``data/annotated/targeted``), split train, checked like the
    corpus (schema, labels, duplicates) and against ``corpus``: no id of its own, no near-duplicate of a dev or
    test conversation. Any problem raises ``TargetedDataError`` listing them all."""
    folder = Path(folder or TARGETED_DIR)
    if not any(folder.glob("*.jsonl")):
        return []
    convs, problems = validate_corpus(folder, require_split=False)
    errors = [str(p) for p in problems if p.severity == "error"]
    errors += [f"error: {c.file}, line {c.line} ({c.id}): split {c.split!r}; targeted conversations only train"
               for c in convs if c.split not in (None, "train")]
    held = load_corpus(corpus)
    ids = {c.id for c in held}
    errors += [f"error: {c.file}, line {c.line} ({c.id}): the corpus has this id" for c in convs if c.id in ids]
    held = [c for c in held if c.split in ("dev", "test")]
    both = held + convs
    pairs = [(i, len(held) + j) for i in range(len(held)) for j in range(len(convs))]
    for i, j, score in near_duplicate_pairs(both, NEAR_DUPLICATE_JACCARD, pairs):
        c = both[j]
        errors.append(f"error: {c.file}, line {c.line} ({c.id}): near-duplicate of {both[i].id} "
                      f"({both[i].split}; trigram Jaccard {score:.2f})")
    if errors:
        raise TargetedDataError("\n".join(errors))
    return [replace(c, split="train") for c in convs]
