"""The held-out evaluation data in data/annotated/eval/: schema, parallel labels, contrast pairs, and that
training never reads it (see data/annotated/eval/README.md)."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from samtaleanalyse.conversation import LANGUAGES
from samtaleanalyse.corpus import load_corpus, validate_corpus
from samtaleanalyse.corpus.findings import stale_findings
from samtaleanalyse.corpus.model import LabelledConversation, corpus_files
from samtaleanalyse.corpus.similarity import NEAR_DUPLICATE_JACCARD, near_duplicate_pairs

ROOT = Path(__file__).resolve().parents[1]
ANNOTATED = ROOT / "data" / "annotated"
EVAL = ANNOTATED / "eval"
CORPUS = ANNOTATED / "conversations"
SETS = ("parallel", "contrast", "email")


def _load(name: str) -> list[LabelledConversation]:
    return load_corpus(EVAL / name)


def _labels(c: LabelledConversation) -> list[tuple[str, object]]:
    """The gold label sequence: (speaker, attitude or sorted behaviours) per turn."""
    return [(lt.turn.role, lt.attitude if lt.turn.role == "customer" else
             tuple(sorted(lt.behaviours)) if lt.turn.role == "agent" else None) for lt in c.turns]


@pytest.mark.parametrize("name", SETS)
def test_files_follow_the_corpus_schema(name: str) -> None:
    assert sorted(p.stem for p in (EVAL / name).glob("*.jsonl")) == sorted(LANGUAGES)
    convs, problems = validate_corpus(EVAL / name, require_split=False)
    errors = [str(p) for p in problems if p.severity == "error"]
    assert not errors, errors[:5]
    for c in convs:
        # No split: the training loader refuses unsplit conversations, a second guard against leaks.
        assert c.split is None and not c.augmented, c.id
        assert dict(c.extra)["eval_set"] == name, c.id
        assert c.id.endswith(f"-{c.language}") or c.id[:-1].endswith(f"-{c.language}"), c.id
        assert c.language in Path(c.file).stem, c.id
    assert not stale_findings(convs), "run data/annotated/eval/source/build.py to refresh findings"


def test_parallel_set_has_identical_labels_in_all_five_languages() -> None:
    groups: dict[str, dict[str, LabelledConversation]] = defaultdict(dict)
    for c in _load("parallel"):
        groups[dict(c.extra)["parallel_id"]][c.language] = c
    assert len(groups) >= 30
    channels = Counter()
    for pid, by_lang in groups.items():
        assert sorted(by_lang) == sorted(LANGUAGES), pid
        ref = by_lang["en"]
        channels[ref.channel] += 1
        for lang, c in by_lang.items():
            assert c.id == f"{pid}-{lang}"
            assert (c.channel, c.domain) == (ref.channel, ref.domain), c.id
            assert _labels(c) == _labels(ref), f"{c.id} labels differ from {ref.id}"
            assert c.findings == ref.findings, c.id
    assert channels["chat"] >= 10 and channels["call"] >= 10, channels


def test_every_contrast_pair_differs_where_it_says() -> None:
    convs = _load("contrast")
    by_id = {c.id: c for c in convs}
    pairs: set[str] = set()
    types: dict[str, set[str]] = defaultdict(set)
    for c in convs:
        meta = dict(c.extra)["contrast"]
        partner = by_id[meta["partner"]]
        pmeta = dict(partner.extra)["contrast"]
        assert pmeta["partner"] == c.id and pmeta["pair"] == meta["pair"] and pmeta["type"] == meta["type"]
        assert {meta["variant"], pmeta["variant"]} == {"a", "b"}
        if meta["variant"] != "a":
            continue
        pairs.add(meta["pair"])
        types[meta["type"]].add(c.language)
        k = meta["turn"]
        assert len(c.turns) == len(partner.turns)
        for i, (x, y) in enumerate(zip(c.turns, partner.turns)):
            assert x.turn.role == y.turn.role
            if i != k:  # every other turn is the same, text and labels
                assert (x.turn.text, x.attitude, x.behaviours) == (y.turn.text, y.attitude, y.behaviours), c.id
        x, y = c.turns[k], partner.turns[k]
        assert x.turn.text != y.turn.text, c.id
        if x.turn.role == "customer":
            differs = ["attitude"] if x.attitude != y.attitude else []
        else:
            differs = sorted(set(x.behaviours) ^ set(y.behaviours))
        assert differs == sorted(meta["differs"]), f"{c.id}: labels differ in {differs}, pair says {meta['differs']}"
    assert len(pairs) >= 150
    assert len(types) >= 15
    assert all(langs == set(LANGUAGES) for langs in types.values()), types


def test_email_threads_carry_history_signatures_and_disclaimers() -> None:
    convs = _load("email")
    assert Counter(c.language for c in convs) == {lang: 3 for lang in LANGUAGES}
    for c in convs:
        assert c.channel == "email"
        texts = [lt.turn.text for lt in c.turns]
        assert any("\n>" in t for t in texts), f"{c.id}: no quoted history"
        assert all("\n" in t for t in texts), c.id


def test_nynorsk_is_nynorsk() -> None:
    bokmaal_only = re.compile(r"\b(ikke|jeg|hva|hvordan|hvorfor|hvem|dere|hvis|bare|mye|noe|hjem|være|gjøre)\b", re.I)
    for name in SETS:
        for c in _load(name):
            if c.language != "nn":
                continue
            for lt in c.turns:
                hit = bokmaal_only.search(lt.turn.text)
                assert not hit, f"{c.id}#{lt.turn.index}: bokmål {hit.group(0)!r} in nynorsk"


def test_training_never_reads_the_eval_folder() -> None:
    from samtaleanalyse_training.finetune.train import FinetuneConfig
    from samtaleanalyse_training.train import TrainConfig

    for corpus in (TrainConfig().corpus, FinetuneConfig().corpus):
        files = [p.resolve() for p in corpus_files(ROOT / corpus)]
        assert files and not any(EVAL.resolve() in p.parents for p in files), corpus
    # the eval folder sits beside the corpus, not inside it, so the loader's "*.jsonl" glob cannot reach it
    assert CORPUS.resolve() not in EVAL.resolve().parents


def test_training_loader_refuses_eval_files() -> None:
    pytest.importorskip("datasets")
    from samtaleanalyse_training.data import load_examples

    with pytest.raises(ValueError, match="no split"):
        load_examples(EVAL / "parallel" / "nb.jsonl")


def test_eval_conversations_are_not_near_duplicates_of_the_corpus() -> None:
    corpus = load_corpus(CORPUS)
    evals = [c for name in SETS for c in _load(name)]
    both = corpus + evals
    pairs = ((i, len(corpus) + j) for i in range(len(corpus)) for j in range(len(evals)))
    hits = near_duplicate_pairs(both, NEAR_DUPLICATE_JACCARD, pairs)
    assert not hits, [(both[i].id, both[j].id, round(s, 2)) for i, j, s in hits[:5]]
