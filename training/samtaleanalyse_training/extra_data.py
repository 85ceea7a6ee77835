"""Training data beyond the corpus's train split, switched on in a config's ``[extra_data]`` section.

- ``twitter_train = true``: the train part of the labelled IBM Twitter threads (``real_text.py``; texts built
  from ``../shared`` at training time). Their dev and test parts are never added: they are the real-text
  evaluation. ``twitter_labels = ["data/annotated/external/ibm_twitter_dev.pass_a.jsonl"]`` picks the label
  sets (as ``reencode --twitter-labels``; default every label set of dev.json).
- ``asr_calls = true``: a speech-recogniser-noised call copy of every chat conversation of the train split
  (``augment_asr.py``; marked ``augmented``, seeded by ``asr_seed``, default the config's seed).
- ``targeted = true``: the conversations of ``data/annotated/targeted/`` written for the failure modes seen on
  real text (``targeted.py``; train only).
- ``translated = true``: the translated copies of train conversations in ``data/annotated/translated/``
  (``translated.py``; texts only, labels read from the source conversation, marked ``augmented``).

Dev figures stay the corpus's dev split: nothing here has split dev or test.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, Sequence

from .data import Example, examples_of, load_examples


class WithExtraData(Protocol):
    """What ``extra_examples`` reads of a config: ``TrainConfig`` and ``FinetuneConfig`` both have it."""
    corpus: str
    seed: int
    limit_conversations: int | None
    extra_data: dict[str, Any]

KNOWN = ("twitter_train", "twitter_labels", "asr_calls", "asr_seed", "translated", "targeted")


def twitter_label_files() -> list[Path]:
    """The label sets training may use by default: every one of dev.json (test.json's are evaluation only)."""
    from .external import ibm_twitter
    from .real_text import label_files

    return [p for p in label_files() if ibm_twitter.source_of(p) != "test"]


def twitter_conversations(labels: Sequence[str | Path] | None = None):  # type: ignore[no-untyped-def]
    """The labelled dev.json threads of ``labels`` (default: every label set of dev.json) with their parts as
    splits; a label file of test.json is refused."""
    from .external import ibm_twitter
    from .real_text import twitter_conversations as build

    held = [str(p) for p in labels or () if ibm_twitter.source_of(p) == "test"]
    if held:
        raise ValueError(f"{', '.join(held)}: test.json's threads are evaluation only and never training data")
    return build(labels=labels if labels is not None else twitter_label_files(), heldout=False)  # test.json's threads are evaluation only: training never reads them


def check(options: dict[str, Any]) -> None:
    unknown = set(options) - set(KNOWN)
    if unknown:
        raise ValueError(f"[extra_data]: unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(KNOWN)}")
    labels = options.get("twitter_labels")
    if labels is not None:
        if not isinstance(labels, list) or not labels or not all(isinstance(p, str) and p for p in labels):
            raise ValueError(f"[extra_data] twitter_labels must be a list of label files, not {labels!r}")
        if not options.get("twitter_train"):
            raise ValueError("[extra_data] twitter_labels chooses the threads of twitter_train; set twitter_train = true")


def twitter_train_examples(labels: Sequence[str | Path] | None = None) -> list[Example]:
    """The train part of the labelled Twitter threads (of ``labels``, default every dev.json label set)."""
    return examples_of([c for c in twitter_conversations(labels) if c.split == "train"])


def asr_call_examples(corpus: str | Path, seed: int, limit_conversations: int | None = None) -> list[Example]:
    """A speech-recogniser-noised call copy of every train chat of ``corpus`` (``augment_asr``), labels kept."""
    from samtaleanalyse.corpus import load_corpus

    from .augment_asr import asr_augment

    convs = load_corpus(corpus)
    if limit_conversations:
        convs = convs[:limit_conversations]
    return examples_of(asr_augment(convs, seed=seed))


def translated_examples(corpus: str | Path) -> list[Example]:
    """The translated copies of train conversations of ``corpus`` (``translated.py``), labels from the sources."""
    from .translated import load_translated

    return examples_of(load_translated(corpus))


def targeted_examples(corpus: str | Path) -> list[Example]:
    """The conversations written for real text's failure modes (``targeted.py``), all train."""
    from .targeted import load_targeted

    return examples_of(load_targeted(corpus))


def extra_parts(corpus: str | Path, *, twitter_train: bool = False,
                twitter_labels: Sequence[str | Path] | None = None, asr_calls: bool = False, asr_seed: int = 13,
                translated: bool = False, targeted: bool = False,
                limit_conversations: int | None = None) -> list[tuple[str, list[Example]]]:
    """(what it is, its turn examples) of each extra training source asked for, in one fixed order (the order
    decides the rows the heads are fitted on); every example has split train."""
    parts: list[tuple[str, list[Example]]] = []
    if twitter_train:
        parts.append(("the Twitter threads' train part", twitter_train_examples(twitter_labels)))
    if asr_calls:
        parts.append(("speech-recogniser-noised call copies of the train chats",
                      asr_call_examples(corpus, asr_seed, limit_conversations)))
    if translated:
        parts.append(("translated copies of train conversations", translated_examples(corpus)))
    if targeted:
        parts.append(("the conversations written for real text's failure modes", targeted_examples(corpus)))
    for what, rows in parts:
        assert all(e.split == "train" for e in rows), f"{what}: extra training data must never reach dev or test"
    return parts


def extra_examples(config: WithExtraData) -> list[Example]:
    """The turn examples ``config.extra_data`` asks for (none by default); every one has split train."""
    options = config.extra_data
    check(options)
    parts = extra_parts(config.corpus, twitter_train=bool(options.get("twitter_train")),
                        twitter_labels=options.get("twitter_labels"), asr_calls=bool(options.get("asr_calls")),
                        asr_seed=int(options.get("asr_seed", config.seed)),
                        translated=bool(options.get("translated")), targeted=bool(options.get("targeted")),
                        limit_conversations=config.limit_conversations)
    return [e for _, rows in parts for e in rows]


def training_examples(config: WithExtraData) -> list[Example]:
    """The corpus's examples (every split) and the extra training examples of ``config``."""
    return load_examples(config.corpus, limit_conversations=config.limit_conversations) + extra_examples(config)
