"""A messy Twitter thread and an e-mail with history, signature and disclaimer through ``score`` with the real
model: the encoder is given the normalised text, while conversations.jsonl and the HTML report show what was
written, with evidence offsets into it and the merged split message said in the report."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from samtaleanalyse.batch import score_paths
from samtaleanalyse.coaching import Coach
from samtaleanalyse.text.normalise import NORMALISATION_VERSION

ROOT = Path(__file__).resolve().parents[1]
INPUT = ROOT / "tests" / "data" / "normalise_e2e" / "messy.jsonl"
# Nothing of this reaches the model; all of it stays in the report.
NOISE = ("https://", "&amp;", "&gt;", "@dana_k", "@AskAcme", "#", "(2/2)", "^KM", "skrev", "konfidensiell", "Mvh",
         "Med vennlig hilsen", "> Hei")


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], object]:
    from samtaleanalyse.classify.loading import load_classifier

    classifier = load_classifier(None)
    seen: list[str] = []
    encode = classifier.encoder.encode

    def spy(texts):  # type: ignore[no-untyped-def]
        seen.extend(texts)
        return encode(texts)

    classifier.encoder.encode = spy  # type: ignore[method-assign]
    out = tmp_path_factory.mktemp("normalise") / "out"
    summary = score_paths([INPUT], out, classifier=classifier, coach=Coach())
    assert summary.scored == 2
    return out, seen, classifier


def test_the_model_reads_normalised_text(scored: tuple[Path, list[str], object]) -> None:
    _, seen, _ = scored
    assert seen
    for text in seen:
        for noise in NOISE:
            assert noise not in text, (noise, text)
    assert any("[link]" in t for t in seen)
    assert "my router & modem keep dropping since the update Acme Fail" in seen
    assert "Hei Fakturaen for mars er feil, jeg er belastet to ganger." in seen


def test_results_keep_the_original_and_map_evidence_back(scored: tuple[Path, list[str], object]) -> None:
    out, _, _ = scored
    records = {r["id"]: r for r in map(json.loads, (out / "conversations.jsonl").read_text().splitlines())}
    tw = records["tw-1"]
    assert len(tw["turns"]) == 3
    merged = tw["turns"][1]
    assert merged["parts"] == 2
    assert merged["text"].startswith("@dana_k (1/2) Sorry to hear that!")
    assert "https://t.co/Ab12Cd" in merged["text"] and "^KM" in merged["text"]
    assert any("2 parts" in w for w in tw["warnings"])
    for turn in tw["turns"]:
        for e in turn.get("evidence", ()):
            word = turn["text"][e["start"]:e["end"]]
            assert word and word == word.strip() and word[0].isalnum(), (word, e)
    assert "&amp;" in tw["turns"][0]["text"]


def test_the_report_shows_what_was_written(scored: tuple[Path, list[str], object]) -> None:
    out, _, _ = scored
    tw = (out / "feedback" / "tw-1.html").read_text(encoding="utf-8")
    for written in ("https://t.co/Ab12Cd", "#AcmeFail", "&amp;amp;", "#NotHappy"):
        assert written in tw
    assert "Turn 2 was sent in 2 parts (1/2, 2/2)" in tw
    em = (out / "feedback" / "em-1.html").read_text(encoding="utf-8")
    for written in ("Den 3. mars 2024", "konfidensiell", "Med vennlig hilsen"):
        assert written in em


def test_a_folder_scored_before_normalisation_asks_for_force(scored: tuple[Path, list[str], object],
                                                              tmp_path: Path) -> None:
    """Merging split messages changes a conversation's content hash and normalising changes what the model
    read: a folder scored by an older version is refused as one of other settings (not an E320 per
    conversation), and --force rescores it."""
    import shutil

    from samtaleanalyse.errors import ConfigError

    out, _, classifier = scored
    old = tmp_path / "old"
    shutil.copytree(out, old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["settings"]["text_normalisation"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError) as err:
        score_paths([INPUT], old, classifier=classifier, coach=Coach())  # type: ignore[arg-type]
    assert "text_normalisation" in str(err.value) and "--force" in (err.value.hint or "")
    assert score_paths([INPUT], old, classifier=classifier, coach=Coach(), force=True).scored == 2  # type: ignore[arg-type]


def test_explanations_occlude_what_the_model_read_and_point_into_the_original(
        scored: tuple[Path, list[str], object]) -> None:
    from samtaleanalyse import read_conversations
    from samtaleanalyse.classify.explain import explain_turn

    _, _, classifier = scored
    conv = next(c for c in read_conversations(INPUT).conversations if c.id == "tw-1")
    e = explain_turn(classifier, conv, 1, top_k=None)  # type: ignore[arg-type]
    assert e.text == conv.turns[1].text
    assert "[link]" in e.model_text and "https" not in e.model_text
    assert {"links", "reply_handles", "part_marker", "signature_tag"} <= set(e.normalisation)
    words = {w.text for w in e.words}
    assert "https://t.co/Ab12Cd" in words  # the link is one unit, quoted as written
    assert not words & {"dana_k", "KM", "1", "2"}  # what the model never read is not occluded
    for w in e.words:
        assert e.text[w.start:w.end] == w.text
    assert e.to_dict()["model_text"] == e.model_text


def test_results_record_the_normalisation_the_model_reads(scored: tuple[Path, list[str], object]) -> None:
    """A model fitted on an older normalisation reads turns as then, and its results say so: upgrading the package
    alone does not make a folder's results look as if they were read another way."""
    from samtaleanalyse.batch.scoring import describe
    from samtaleanalyse.classify.features import reading_version

    out, _, classifier = scored
    settings = json.loads((out / "manifest.json").read_text())["settings"]
    assert settings["text_normalisation"] == str(reading_version(classifier)) == str(classifier.model.text_normalisation)  # type: ignore[attr-defined]
    assert describe(None, None)["text_normalisation"] == NORMALISATION_VERSION


def test_a_folder_redacted_by_older_rules_asks_for_force(scored: tuple[Path, list[str], object],
                                                         tmp_path: Path) -> None:
    """Redaction now also finds names mentioned inside a sentence: a folder whose texts were redacted by the
    older rules is refused as one of other settings, and --force rescores it."""
    import shutil

    from samtaleanalyse.errors import ConfigError
    from samtaleanalyse.redact import REDACTION_VERSION

    out, _, classifier = scored
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["settings"]["redaction"] == REDACTION_VERSION and manifest["settings"]["redact"] is True
    old = tmp_path / "old-redaction"
    shutil.copytree(out, old)
    del manifest["settings"]["redaction"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError) as err:
        score_paths([INPUT], old, classifier=classifier, coach=Coach())  # type: ignore[arg-type]
    assert "redaction" in str(err.value) and "--force" in (err.value.hint or "")
