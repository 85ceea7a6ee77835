"""Timings of the hot functions, with pytest-benchmark (issue 12). Not a test: `pytest` collects only tests/.

    make bench-hot
    .venv/bin/python -m pytest -q benchmarks/test_hot.py --benchmark-only
    .venv/bin/python -m pytest -q benchmarks/test_hot.py --benchmark-only -k encoder --benchmark-json hot.json

Inputs are the corpus test split's turns (perturbed as in perf.py); nothing here asserts a time. The encoder
is timed on texts it has not seen (a counter makes each call's text new), so its cache never answers.
"""
from __future__ import annotations

import itertools
import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_batch  # noqa: E402

os.environ.pop("SAMTALEANALYSE_EMBED_CACHE", None)  # the file cache would answer instead of the encoder


@pytest.fixture(scope="module")
def convs() -> list[dict]:
    rng = random.Random(3)
    return [bench_batch.perturb(c, n, rng, labels=True) for n, c in enumerate(bench_batch.test_split()[:30])]


@pytest.fixture(scope="module")
def customer_turn(convs: list[dict]) -> str:
    return next(t["text"] for c in convs for t in c["turns"] if t["speaker"] == "customer" and len(t["text"]) > 60)


@pytest.fixture(scope="module")
def agent_turn(convs: list[dict]) -> str:
    return next(t["text"] for c in convs for t in c["turns"] if t["speaker"] == "agent" and len(t["text"]) > 80)


@pytest.fixture(scope="module")
def classifier():  # type: ignore[no-untyped-def]
    from samtaleanalyse.classify.loading import load_classifier

    return load_classifier()


@pytest.fixture(scope="module")
def view(convs: list[dict]):  # type: ignore[no-untyped-def]
    """A labelled 12-turn conversation (gold labels): rules and feedback without a classifier."""
    from samtaleanalyse.coaching import from_labels

    conv = next(c for c in convs if len(c["turns"]) >= 12)
    return from_labels(conv["id"], conv["id"][:2], conv["turns"][:12])


def test_language_of_a_turn(benchmark, customer_turn: str) -> None:  # type: ignore[no-untyped-def]
    from samtaleanalyse.text.language import identify_text

    identify_text(customer_turn)  # the detector's models load once, outside the timing
    benchmark(identify_text, customer_turn)


def test_language_of_a_conversation(benchmark, convs: list[dict]) -> None:  # type: ignore[no-untyped-def]
    from samtaleanalyse.conversation import Conversation, Turn
    from samtaleanalyse.text.language import identify

    c = convs[0]
    conv = Conversation(c["id"], tuple(Turn(i, t["speaker"], t["text"]) for i, t in enumerate(c["turns"])))
    identify(conv)
    benchmark(identify, conv)


def test_char_ngram_features(benchmark, classifier, agent_turn: str) -> None:  # type: ignore[no-untyped-def]
    benchmark(classifier.model.vectorizer.transform, [agent_turn])


def test_cue_features(benchmark, classifier, convs: list[dict]) -> None:  # type: ignore[no-untyped-def]
    from samtaleanalyse.classify.features import extra_features, turn_inputs
    from samtaleanalyse.conversation import Conversation, Turn

    c = convs[1]
    inputs = turn_inputs(Conversation(c["id"], tuple(Turn(i, t["speaker"], t["text"]) for i, t in enumerate(c["turns"]))))
    benchmark(extra_features, inputs, classifier.model.cues)


@pytest.mark.parametrize("task", ["attitude", "behaviours"])
def test_head_prediction(benchmark, classifier, agent_turn: str, task: str) -> None:  # type: ignore[no-untyped-def]
    """One turn's head, from features already computed (the dense part random: its values do not matter here)."""
    head = classifier.model.heads[task]
    dim = classifier.encoder.dim
    dense = np.random.default_rng(0).standard_normal((1, 3 * dim + 1)).astype(np.float32)
    lexical = classifier.model.vectorizer.transform([agent_turn])
    extra = np.zeros((1, classifier.model.cues.dim if classifier.model.cues else 0), dtype=np.float32)
    benchmark(head.predict_proba, dense, lexical, extra)


def test_rules(benchmark, view) -> None:  # type: ignore[no-untyped-def]
    from samtaleanalyse.coaching import detect, load_config

    config = load_config()
    benchmark(detect, view, config.enabled)


def test_feedback(benchmark, view) -> None:  # type: ignore[no-untyped-def]
    """Rules, findings, score and summary, then the feedback's Markdown."""
    from samtaleanalyse.coaching import Coach
    from samtaleanalyse.coaching.render import render_markdown

    coach = Coach()
    benchmark(lambda: render_markdown(view.id, coach(view)))


def test_redaction_of_a_turn(benchmark, customer_turn: str) -> None:  # type: ignore[no-untyped-def]
    from samtaleanalyse.redact.api import redact_text

    text = customer_turn + " Ring meg på 912 34 567 eller kari.nordmann@example.no, kunde 12345678."
    redact_text(text, language="nb")
    benchmark(redact_text, text, language="nb")


def test_encoder_one_turn(benchmark, classifier, customer_turn: str) -> None:  # type: ignore[no-untyped-def]
    """The default model's encoder on one new turn (int8 ONNX: one sub-batch, so one core), as the pipeline calls it."""
    counter = itertools.count()
    classifier.encoder.encode(["warm-up"])
    benchmark(lambda: classifier.encoder.encode([f"{customer_turn} ({next(counter)})"]))


def test_classifier_one_conversation(benchmark, classifier, convs: list[dict]) -> None:  # type: ignore[no-untyped-def]
    """All turn predictions of one 12-turn conversation, encoder included (new texts each call)."""
    from samtaleanalyse.conversation import Conversation, Turn

    c = next(c for c in convs if len(c["turns"]) >= 12)
    counter = itertools.count()

    def run() -> None:
        n = next(counter)
        turns = tuple(Turn(i, t["speaker"], f"{t['text']} ({n})") for i, t in enumerate(c["turns"][:12]))
        classifier.predict([Conversation(c["id"], turns)])

    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
