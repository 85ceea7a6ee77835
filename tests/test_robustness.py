"""`samtaleanalyse robustness`: the swaps change what they claim and nothing else; the calibration error is
computed as documented; invariance, the uncertain flag, the parallel set and the contrast sets are measured
right, on fixtures with a keyword classifier whose faults are known."""
from __future__ import annotations

import difflib
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from samtaleanalyse.classify.predict import TurnPrediction
from samtaleanalyse.corpus import load_corpus
from samtaleanalyse.corpus.model import parse_record
from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS
from samtaleanalyse_training.calibration import expected_calibration_error, reliability_bins, reliability_svg
from samtaleanalyse_training.robustness import robustness, write_report
from samtaleanalyse_training.swaps import (SWAP_TYPES, DATA, apply_swap, companies_table, known_names,
                                           names_table)

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent / "data" / "robustness"
CORPUS = ROOT / "data" / "annotated" / "conversations"


def _conv(text: str, language: str, channel: str):
    return parse_record({"id": "case-1", "language": language, "channel": channel, "domain": "x",
                         "turns": [{"speaker": "agent", "text": text, "behaviours": []}]}, "case", 1)


def _cases():
    return [json.loads(l) for l in (HERE / "swap_cases.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: f"{c['swap']}-{c['language']}")
def test_swap_cases(case):
    """Each case's text becomes its expected text; {0}, {1}: distinct names from the swap's pool."""
    out = apply_swap(_conv(case["text"], case["language"], case["channel"]), case["swap"]).turns[0].turn.text
    kind, _, arg = case["swap"].partition(":")
    if kind == "names":
        pool = names_table()["groups"][case["language"]][arg]
    elif kind == "company":
        pool = [n for names in companies_table()["replacements"].values() for n in names]
    else:
        assert out == case["expected"]
        return
    alternatives = "|".join(re.escape(n) for n in sorted({*pool, *(n.lower() for n in pool), *(n.upper() for n in pool)},
                                                         key=len, reverse=True))
    pattern = re.escape(case["expected"])
    for i in range(4):
        pattern = pattern.replace(re.escape("{%d}" % i), f"(?P<g{i}>{alternatives})")
    m = re.fullmatch(pattern, out)
    assert m, f"{out!r} does not fit {case['expected']!r}"
    assert len(set(m.groupdict().values())) == len(m.groupdict())  # different names stay different


TOKEN = re.compile(r"\w+|[^\w\s]")


def _allowed(swap: str, language: str):
    """(old, new) token strings a swap may exchange, lower-cased; None: check the structure only."""
    kind, _, arg = swap.partition(":")
    if kind == "names":
        pool = {n.lower() for n in names_table()["groups"][language][arg]}
        return lambda old, new: old in {n.lower() for n in known_names()} and new in pool
    if kind == "company":
        t = companies_table()
        known = {" ".join(TOKEN.findall(n.lower())) for names in t["known"].values() for n in names}
        new_names = {n.lower() for names in t["replacements"].values() for n in names}
        return lambda old, new: old in known and new in new_names
    if kind == "nb_to_nn":
        table = dict(line.split("\t") for line in (DATA / "nb_nn.tsv").read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.startswith("#"))
        return lambda old, new: table.get(old) == new
    return None


@pytest.fixture(scope="module")
def test_split():
    return [c for c in load_corpus(CORPUS) if c.split == "test"]


@pytest.mark.parametrize("swap", SWAP_TYPES)
def test_swaps_change_only_what_they_claim_on_the_test_split(swap, test_split):
    """Labels, speakers, ids and the number of turns never change; names, companies and nb->nn change only
    words of their tables, one for one (register phrases are checked by the cases above)."""
    convs = test_split
    changed = 0
    for conv in convs:
        out = apply_swap(conv, swap)
        if out is conv:
            continue
        changed += 1
        assert (out.id, out.channel, out.split, out.findings) == (conv.id, conv.channel, conv.split, conv.findings)
        assert out.language == ("nn" if swap == "nb_to_nn" else conv.language)
        assert [(t.turn.role, t.attitude, t.behaviours) for t in out.turns] == \
            [(t.turn.role, t.attitude, t.behaviours) for t in conv.turns]
        allowed = _allowed(swap, conv.language)
        for a, b in zip(conv.turns, out.turns):
            if allowed is None or a.turn.text == b.turn.text:
                continue
            ta, tb = TOKEN.findall(a.turn.text.lower()), TOKEN.findall(b.turn.text.lower())
            for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=ta, b=tb, autojunk=False).get_opcodes():
                if op == "equal":
                    continue
                assert op == "replace", (conv.id, swap, op, ta[i1:i2], tb[j1:j2])
                # neighbouring words replaced one for one, or one phrase (a company) by another
                pairs = list(zip(ta[i1:i2], tb[j1:j2])) if i2 - i1 == j2 - j1 else []
                if not all(allowed(o, n) for o, n in pairs) or not pairs:
                    old, new = " ".join(ta[i1:i2]), " ".join(tb[j1:j2])
                    assert allowed(old, new), (conv.id, swap, old, new)
    assert changed > 0, f"{swap} changed no test conversation"


def test_no_swap_applies_where_nothing_matches():
    conv = _conv("Det går fint, takk.", "da", "chat")
    for swap in ("names:local_male", "company", "nb_to_nn", "register:to_informal"):
        assert apply_swap(conv, swap) is conv
    with pytest.raises(ValueError):
        apply_swap(conv, "names")


# Calibration ---------------------------------------------------------------------------------------------

def test_expected_calibration_error_by_hand():
    # bins [0, .1): .05 vs 0; [.1, .2): .15 vs 0; [.9, 1]: mean .95 vs 1 of 2 -> .25*.05 + .25*.15 + .5*.45
    assert expected_calibration_error([0.05, 0.15, 0.95, 0.95], [0, 0, 1, 0]) == pytest.approx(0.275)
    assert expected_calibration_error([1.0, 1.0], [1, 1]) == pytest.approx(0.0)  # 1.0 falls in the last bin
    assert expected_calibration_error([0.3] * 10, [1] * 3 + [0] * 7) == pytest.approx(0.0)
    assert expected_calibration_error([], []) is None
    bins = reliability_bins([0.0, 0.55, 0.59, 1.0], [0, 1, 0, 1], bins=10)
    assert [b.count for b in bins] == [1, 0, 0, 0, 0, 2, 0, 0, 0, 1]
    assert bins[5].frequency == pytest.approx(0.5) and bins[5].confidence == pytest.approx(0.57)
    with pytest.raises(ValueError):
        expected_calibration_error([1.2], [1])


def test_reliability_svg_is_well_formed():
    svg = reliability_svg({"a & b": reliability_bins([0.2, 0.8], [0, 1])}, "t<1>")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and "a &amp; b" in svg


# The whole measurement, with a keyword classifier -------------------------------------------------------

SENSITIVE = set(names_table()["groups"]["nb"]["immigrant_female"]) | set(names_table()["groups"]["sv"]["immigrant_female"])
APOLOGY = re.compile(r"\b(sorry|beklager|undskyld|förlåt)\b", re.I)   # no nynorsk "orsak": a known gap


class KeywordClassifier:
    """Labels from words, with two planted faults: a customer turn naming an immigrant woman is called
    sceptical, and nynorsk apologies are missed; a link is always a solution."""

    def predict(self, conversations):
        out = []
        for conv in conversations:
            preds = []
            for t in conv.turns:
                if t.role == "customer":
                    label = ("sceptical" if any(n in t.text for n in SENSITIVE)
                             else "hostile" if "!!" in t.text else "neutral")
                    scores = {l: (0.7 if l == label else 0.1) for l in ATTITUDES}
                    preds.append(TurnPrediction(t.index, "attitude", scores, (label,), "?" in t.text, "fake"))
                elif t.role == "agent":
                    labs = set()
                    if APOLOGY.search(t.text):
                        labs.add("apology")
                    if "?" in t.text:
                        labs.add("question")
                    if re.search(r"https://|ordner|ordnar|fixar|sort|sendt", t.text):
                        labs.add("solution")
                    scores = {l: (0.9 if l in labs else 0.05) for l in BEHAVIOURS}
                    preds.append(TurnPrediction(t.index, "behaviours", scores, tuple(sorted(labs)), not labs, "fake"))
            out.append(preds)
        return out


@pytest.fixture(scope="module")
def measured():
    return robustness(KeywordClassifier(), HERE / "corpus", HERE / "eval", model_name="fake")


def test_invariance_finds_the_planted_name_bias(measured):
    results, _ = measured
    assert results["conversations"] == 3  # the dev conversation is left out
    inv = results["invariance"]
    assert inv["names:local_male"]["rows"]["all"] == {"n": 3, "findings_flip": 0.0, "score_flip": 0.0,
                                                      "turn_flip": 0.0, "turns": 9}
    # Kristin (nb chat) and Karin (sv e-mail) are customers; Hannah (en call) is the agent
    biased = inv["names:immigrant_female"]["rows"]
    assert biased["all"]["n"] == 3 and biased["all"]["findings_flip"] == pytest.approx(2 / 3, abs=1e-3)
    assert biased["nb"]["findings_flip"] == 1.0 and biased["en"]["findings_flip"] == 0.0
    assert biased["call"]["findings_flip"] == 0.0 and biased["email"]["findings_flip"] == 1.0
    assert {f["id"] for f in inv["names:immigrant_female"]["flipped"]} == {"fx-nb-001", "fx-sv-003"}
    assert inv["names:immigrant_female"]["findings_flips_without_label_change"] == 0  # the attitude changed
    assert inv["names:immigrant_female"]["codes"] and not inv["names:local_male"]["codes"]
    assert inv["nb_to_nn"]["rows"]["all"]["n"] == 1 and inv["company"]["rows"]["all"]["n"] == 1


def test_calibration_and_uncertain_flag(measured):
    results, svg = measured
    cal = results["calibration"]["rows"]
    assert cal["all"]["attitude_turns"] == 4 and cal["all"]["behaviour_turns"] == 5
    # every attitude prediction says 0.7 and all 4 are right: ECE = |0.7 - 1|
    assert cal["all"]["attitude_ece"] == pytest.approx(0.3)
    assert set(cal) == {"all", "nb", "sv", "en", "chat", "call", "email"}
    unc = results["uncertain"]["rows"]["all"]
    assert unc["attitude"]["turns"] == 4 and unc["attitude"]["error_rate"] == 0.0
    # one wrong turn (the en call's question without "?"), not flagged; one flagged turn (the call's
    # greeting, no label), right
    assert unc["all"]["turns"] == 9 and unc["all"]["error_rate"] == pytest.approx(1 / 9, abs=1e-3)
    assert unc["all"]["review_rate"] == pytest.approx(1 / 9, abs=1e-3)
    assert unc["all"]["wrong_caught"] == 0.0 and unc["all"]["flagged_wrong"] == 0.0
    assert results["uncertain"]["rows"]["call"]["behaviours"] == {
        "turns": 2, "review_rate": 0.5, "error_rate": 0.5, "wrong_caught": 0.0, "lift_over_random": 0.0,
        "flagged_wrong": 0.0}
    assert ET.fromstring(svg).tag.endswith("svg")


def test_parallel_and_contrast_sets(measured):
    results, _ = measured
    par = results["parallel"]
    assert par["languages"] == ["nb", "nn", "da", "sv", "en"]
    # par-901 (chat): the nynorsk apology is missed; par-902 and the e-mail thread eml-901 agree
    assert par["rows"]["all"]["n"] == 3 and par["rows"]["all"]["findings_agree"] == pytest.approx(2 / 3, abs=1e-3)
    assert par["rows"]["all"]["nn_with_majority"] == pytest.approx(2 / 3, abs=1e-3)
    assert par["rows"]["all"]["nb_with_majority"] == 1.0
    assert par["rows"]["chat"]["findings_agree"] == 0.0 and par["rows"]["email"]["findings_agree"] == 1.0
    assert [d["id"] for d in par["disagreements"]] == ["par-901"]
    con = results["contrast"]["per_type"]
    # a link is always a solution: the background link is wrong
    assert con["link_fix_vs_background"]["all"] == 0.5 and con["link_fix_vs_background"]["en"] == 0.5
    assert con["link_fix_vs_background"]["pairs_both_right"] == 0.0
    # attitude pairs compare the attitude itself: sincere praise without "!!" comes out neutral, not loyal
    assert con["sarcasm_vs_sincere"]["all"] == 0.5 and con["sarcasm_vs_sincere"]["exact"] == 0.5
    assert results["contrast"]["wrong"] == ["con-901-enb", "con-902-enb"]
    assert 0 <= results["contrast"]["rows"]["all"]["findings"] <= 1


def test_report_files(measured, tmp_path):
    results, svg = measured
    paths = write_report(results, svg, tmp_path)
    assert sorted(p.name for p in paths) == ["robustness.json", "robustness.md", "robustness_reliability.svg"]
    md = (tmp_path / "robustness.md").read_text(encoding="utf-8")
    for swap in SWAP_TYPES:
        assert f"| {swap} |" in md
    assert "| swap | all | nb | sv | en | chat | call | email |" in md
    assert json.loads((tmp_path / "robustness.json").read_text(encoding="utf-8"))["model"] == "fake"


def test_robustness_command_help():
    proc = subprocess.run([sys.executable, "-m", "samtaleanalyse.cli", "robustness", "--help"], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 0 and "--eval-dir" in proc.stdout


def test_name_swap_reaches_speaker_labels():
    conv = parse_record({"id": "s-1", "language": "nb", "channel": "chat", "domain": "x", "turns": [
        {"speaker": "agent", "text": "Hei, Kari her.", "behaviours": []}]}, "case", 1)
    from dataclasses import replace as dc_replace
    conv = dc_replace(conv, turns=(dc_replace(conv.turns[0], turn=dc_replace(conv.turns[0].turn, speaker="Agent Kari")),))
    out = apply_swap(conv, "names:immigrant_male").turns[0].turn
    new = out.text.split()[1]
    assert new in names_table()["groups"]["nb"]["immigrant_male"] and out.speaker == f"Agent {new}"


def test_wilson_interval():
    from samtaleanalyse_training.robustness import wilson
    lo, hi = wilson(0.0, 15)
    assert lo == 0.0 and 0.20 < hi < 0.21          # 0 of 15 flips: up to about 20 % is still possible
    lo, hi = wilson(0.5, 100)
    assert lo == pytest.approx(0.404, abs=1e-3) and hi == pytest.approx(0.596, abs=1e-3)
    assert wilson(None, 3) is None and wilson(0.5, 0) is None


def test_summary_and_lift(measured):
    from samtaleanalyse_training.robustness import markdown
    results, _ = measured
    assert results["uncertain"]["rows"]["all"]["all"]["lift_over_random"] == 0.0  # the one wrong turn is not flagged
    md = markdown(results)
    assert "| findings flip, names:local_male (n=3) | 0.0 % (0–56 %) | <= 1.0 % (met on this sample; too few" in md
    assert "| findings flip, names:immigrant_female (n=3) | 66.7 %" in md and "(not met)" in md
    assert "| all: lift over random | 0.00 |" in md


def test_save_to_model_puts_the_figures_in_the_card(measured, tmp_path):
    """--save: metadata.json gets the headline figures and the card a robustness section with the diagram."""
    import shutil

    from samtaleanalyse_training.robustness import save_to_model

    model = tmp_path / "m"
    model.mkdir()
    shutil.copy(ROOT / "models" / "turns-e5-qat" / "metadata.json", model / "metadata.json")
    results, _ = measured
    save_to_model(results, model, "../robustness_reliability.svg")
    meta = json.loads((model / "metadata.json").read_text(encoding="utf-8"))
    assert meta["robustness"]["flips"]["names:immigrant_female"]["findings_flip"] == pytest.approx(2 / 3, abs=1e-3)
    card = (model / "README.md").read_text(encoding="utf-8")
    assert "## Robustness and calibration" in card and "![Reliability diagram](../robustness_reliability.svg)" in card
    assert "| names:immigrant_female | 3 | 66.7 % |" in card and "## Fine-tuning" in card
    # a section written by hand survives the rewrite, once
    (model / "README.md").write_text(card + "\n## Notes (added by hand to the generated card)\n\nKept.\n",
                                     encoding="utf-8")
    save_to_model(results, model, "../robustness_reliability.svg")
    save_to_model(results, model, "../robustness_reliability.svg")
    again = (model / "README.md").read_text(encoding="utf-8")
    assert again.count("(added by hand") == 1 and again.rstrip().endswith("Kept.") and "## Fine-tuning" in again


def test_the_unlisted_name_group_stays_off_the_first_name_list() -> None:
    """names:unlisted measures names the package's first-name list does not know: adding one of them to the list
    would turn the check into a test of the list."""
    from samtaleanalyse.redact.names import _first_names
    from samtaleanalyse_training.swaps import NAME_GROUPS, names_table

    assert "unlisted" in NAME_GROUPS
    table = names_table()
    for language, groups in table["groups"].items():
        unlisted = groups["unlisted"]
        assert len(unlisted) >= 8, language
        assert not [n for n in unlisted if n.casefold() in _first_names()], language
        assert not set(unlisted) & set(table["ambiguous"])
