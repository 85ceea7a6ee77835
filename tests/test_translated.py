"""Translate-train copies (training/samtaleanalyse_training/translated.py): texts from data/annotated/translated/,
labels always from the source conversation, sources only from the train split."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

from samtaleanalyse.corpus import load_corpus  # noqa: E402
from samtaleanalyse_training import extra_data  # noqa: E402
from samtaleanalyse_training.config import TrainConfig  # noqa: E402
from samtaleanalyse_training.translated import TRANSLATED_DIR, TranslationError, load_translated  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "annotated" / "conversations"


@pytest.fixture(scope="module")
def corpus():
    return {c.id: c for c in load_corpus(CORPUS)}


def test_shipped_translations_carry_their_sources_labels(corpus):
    copies = load_translated(CORPUS)
    assert len(copies) >= 24
    assert {c.language for c in copies} <= {"nb", "nn", "da", "sv", "en"}
    for copy in copies:
        source = corpus[dict(copy.extra)["translated_from"]]
        assert source.split == "train" and copy.split == "train" and copy.augmented
        assert copy.language != source.language and copy.channel == source.channel
        assert [(t.turn.role, t.attitude, t.behaviours) for t in copy.turns] == \
               [(t.turn.role, t.attitude, t.behaviours) for t in source.turns]
        # a translation, not the source again
        changed = sum(a.turn.text != b.turn.text for a, b in zip(copy.turns, source.turns))
        assert changed >= len(source.turns) // 2, copy.id


def test_each_file_holds_its_own_language():
    for path in TRANSLATED_DIR.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            assert json.loads(line)["to"] == path.stem


def _write(folder: Path, name: str, records: list[dict | str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def _texts(conv) -> list[str]:
    return [f"translated {t.turn.index}" for t in conv.turns]


def test_a_good_line_loads(tmp_path, corpus):
    source = next(c for c in corpus.values() if c.split == "train" and c.language == "da")
    _write(tmp_path, "sv.jsonl", [{"source_id": source.id, "to": "sv", "texts": _texts(source)}])
    [copy] = load_translated(CORPUS, tmp_path)
    assert copy.id == f"{source.id}~sv" and copy.turns[0].turn.text == "translated 0"
    assert copy.file.endswith("sv.jsonl") and copy.line == 1


@pytest.mark.parametrize("problem, expected", [
    ("dev source", "dev split"),
    ("test source", "test split"),
    ("too few texts", "texts for the"),
    ("same language", "already"),
    ("unknown source", "no conversation"),
    ("bad json", "not a UTF-8 {source_id, to, texts} record"),
    ("unknown language", "'to' must be one of"),
    ("wrong file", "a da translation in sv.jsonl"),
    ("empty text", "is empty in the translation"),
    ("twice", "twice"),
    ("untranslated", "are the source's own text"),
    ("list source_id", "source_id must be a string"),
    ("non-string text", "text must be a string"),
    ("not utf-8", "not a UTF-8"),
])
def test_a_broken_line_names_file_and_line(tmp_path, corpus, problem, expected):
    train, other = [c for c in corpus.values() if c.split == "train" and c.language == "nb"][:2]
    held = {s: next(c for c in corpus.values() if c.split == s) for s in ("dev", "test")}
    good = {"source_id": train.id, "to": "sv", "texts": _texts(train)}
    bad: dict | str = {
        "dev source": {"source_id": held["dev"].id, "to": "sv" if held["dev"].language != "sv" else "en",
                       "texts": _texts(held["dev"])},
        "test source": {"source_id": held["test"].id, "to": "sv" if held["test"].language != "sv" else "en",
                        "texts": _texts(held["test"])},
        "too few texts": {**good, "source_id": other.id, "texts": _texts(other)[:-1]},
        "same language": {**good, "to": "nb"},
        "unknown source": {**good, "source_id": "xx-a-999"},
        "bad json": '{"source_id": ',
        "unknown language": {**good, "to": "de"},
        "wrong file": {**good, "to": "da"},
        "empty text": {**good, "source_id": other.id, "texts": ["  "] + _texts(other)[1:]},
        "twice": good,
        "untranslated": {**good, "source_id": other.id, "texts": [t.turn.text for t in other.turns]},
        "list source_id": {**good, "source_id": [train.id]},
        "non-string text": {**good, "source_id": other.id, "texts": [t.turn.text for t in other.turns[:-1]] + [7]},
        "not utf-8": "NOT_UTF8",
    }[problem]
    if problem in ("dev source", "test source", "same language"):
        name = f"{bad['to']}.jsonl"  # type: ignore[index]
    else:
        name = "sv.jsonl"
    path = _write(tmp_path, name, [good, bad] if problem != "same language" else ["", bad])
    if bad == "NOT_UTF8":
        path.write_bytes(path.read_bytes().replace(b"NOT_UTF8", b'{"source_id": "\xff\xfe"}'))
    with pytest.raises(TranslationError) as err:
        load_translated(CORPUS, tmp_path)
    assert f"{path}, line 2" in str(err.value) and expected in str(err.value)


def test_translated_is_an_extra_data_option():
    rows = extra_data.extra_examples(TrainConfig(extra_data={"translated": True}))
    assert rows and all(r.split == "train" for r in rows)
    assert {r.conversation_id.split("~")[1] for r in rows} <= {"nb", "nn", "da", "sv", "en"}
    assert extra_data.extra_examples(TrainConfig()) == []


def test_shipped_sources_are_the_two_documented_draws():
    from samtaleanalyse_training.translated import draw_sources, worklist

    first = draw_sources(CORPUS, 2026)
    second = draw_sources(CORPUS, 2027, exclude=[c.id for c in first])
    drawn = {c.id for c in first + second}
    assert len(drawn) == 60 and all(c.split == "train" for c in first + second)
    shipped = {dict(c.extra)["translated_from"] for c in load_translated(CORPUS)}
    assert shipped == drawn
    work = worklist(first, "sv")
    assert len(work) == len(first) - 6 and all(w["from"] != "sv" for w in work)


def test_the_third_draw_loads_only_when_asked_for():
    from samtaleanalyse_training.translated import draw_sources

    third = load_translated(CORPUS, TRANSLATED_DIR / "draw-2028")
    default = load_translated(CORPUS)
    assert third and not {c.id for c in third} & {c.id for c in default}
    first = draw_sources(CORPUS, 2026)
    second = draw_sources(CORPUS, 2027, exclude=[c.id for c in first])
    drawn = {c.id for c in draw_sources(CORPUS, 2028, exclude=[c.id for c in first + second])}
    assert {dict(c.extra)["translated_from"] for c in third} == drawn
