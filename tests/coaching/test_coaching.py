"""Coaching beyond the rule cases: team settings, confidence from predictions, trajectory, score, wording."""
from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from typer.testing import CliRunner

from samtaleanalyse.analysis import AnalysedConversation
from samtaleanalyse.classify.predict import TurnPrediction
from samtaleanalyse.cli import app
from samtaleanalyse.coaching import RULES, Coach, from_analysis, from_labels, load_config
from samtaleanalyse.coaching.render import render_markdown
from samtaleanalyse.coaching.score_words import describe_score
from samtaleanalyse.coaching.texts import available_languages, load_texts
from samtaleanalyse.coaching.trajectory import attitude_trajectory
from samtaleanalyse.coaching.variants import VARIANTS
from samtaleanalyse.conversation import LANGUAGES, Conversation, Turn
from samtaleanalyse.corpus import load_corpus
from samtaleanalyse.corpus.findings import stale_findings
from samtaleanalyse.errors import ConfigError
from samtaleanalyse.guidance import SEED_FILES, load_guidance
from samtaleanalyse.labels import BEHAVIOURS

CORPUS = Path(__file__).resolve().parents[2] / "data" / "annotated" / "conversations"

COMPLAINT = [
    {"speaker": "customer", "text": "Dette er tredje gang pakken forsvinner. Helt uakseptabelt!", "attitude": "hostile"},
    {"speaker": "agent", "text": "Her får du et gavekort på 200 kr.", "behaviours": ["compensation"]},
    {"speaker": "system", "text": "Samtalen er overført."},
    {"speaker": "customer", "text": "Et gavekort? Jeg vil ha pakken min.", "attitude": "hostile"},
    {"speaker": "agent", "text": "Beklager, det er lageret som har rotet.", "behaviours": ["apology", "blame"]},
    {"speaker": "customer", "text": "Greit, takk.", "attitude": "neutral"},
]


def _codes(turns, **kw):
    return {f.code for f in Coach(**kw)(from_labels("t", "nb", turns)).findings}


def test_team_rules_file_disables_and_reweights(tmp_path):
    team = tmp_path / "team.toml"
    team.write_text('[findings.blame_shifting]\nenabled = false\n\n[findings.missing_apology]\nseverity = "low"\npoints = 1\n'
                    '\n[score]\nbase = 90\n', encoding="utf-8")
    config = load_config(team)
    assert not config.enabled("blame_shifting") and config.rule("missing_apology").points == 1
    assert "blame_shifting" in _codes(COMPLAINT) and "blame_shifting" not in _codes(COMPLAINT, config=config)
    coaching = Coach(config=config)(from_labels("t", "nb", COMPLAINT))
    assert coaching.score.base == 90


@pytest.mark.parametrize("text, problem", [
    ('[findings.no_such_thing]\nenabled = false\n', "no such finding"),
    ('[findings.missing_apology]\nseverity = "urgent"\n', "severity"),
    ('[findings.missing_apology]\npoints = -3\n', "points"),
    ('[findings.missing_apology]\nweight = 3\n', "unknown key"),
    ('[scoring]\nbase = 3\n', "unknown section"),
    ('[findings.missing_apology\n', "not valid TOML"),
])
def test_bad_team_rules_name_file_and_problem(tmp_path, text, problem):
    team = tmp_path / "team.toml"
    team.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(team)
    assert problem in str(err.value) and str(team) in str(err.value)


def _predicted(attitudes, behaviours):
    """An analysed conversation with the given predicted probabilities (customer, agent alternating)."""
    turns, preds = [], []
    for i, (att, beh) in enumerate(zip(attitudes, behaviours)):
        turns.append(Turn(index=2 * i, role="customer", text=f"kunde {i}"))
        turns.append(Turn(index=2 * i + 1, role="agent", text=f"agent {i}"))
        preds.append(TurnPrediction(2 * i, "attitude", att, (max(att, key=att.get),), False, "m"))
        preds.append(TurnPrediction(2 * i + 1, "behaviours", beh, tuple(k for k, v in beh.items() if v >= 0.5), False, "m"))
    return AnalysedConversation(Conversation(id="p", turns=tuple(turns), language="da"), tuple(preds))


def test_confidence_is_the_weakest_condition():
    analysed = _predicted(
        [{"hostile": 0.7, "sceptical": 0.1, "neutral": 0.2, "loyal": 0.0}],
        [{"apology": 0.3, "question": 0.9, "solution": 0.2}])
    found = {f.code: f for f in Coach()(from_analysis(analysed)).findings}
    # complaint: 0.7 + 0.1; no apology: 1 - 0.3
    assert found["missing_apology"].confidence == pytest.approx(0.7)
    assert found["missing_apology"].turns == (0,)


def test_trajectory_names_the_moves_and_apologies_that_did_not_land():
    view = from_labels("t", "nb", COMPLAINT)
    traj = attitude_trajectory(view)
    assert (traj.start, traj.end, traj.course) == ("hostile", "neutral", "improved")
    assert [s.to_dict()["to"] for s in traj.shifts] == ["neutral"]
    assert traj.shifts[0].agent_turns == (4,) and set(traj.shifts[0].agent_moves) == {"apology", "blame"}
    unlanded = from_labels("u", "nb", COMPLAINT[:5] + [{"speaker": "customer", "text": "Nei!", "attitude": "hostile"}])
    assert attitude_trajectory(unlanded).unlanded_apologies == (4,)
    assert attitude_trajectory(from_labels("e", "nb", [])).course == "none"


def test_score_breakdown_adds_up_and_strengths_are_capped():
    coaching = Coach()(from_labels("t", "nb", COMPLAINT))
    d = coaching.score.to_dict()
    issues = sum(i["points"] for i in d["breakdown"] if i["kind"] == "issue")
    strengths = sum(i["points"] for i in d["breakdown"] if i["kind"] == "strength")
    assert coaching.score.value == max(0, min(100, round(d["base"] + issues + d["strength_bonus"])))
    assert d["strength_bonus"] == min(strengths, d["strength_bonus_cap"], -issues * d["strength_recovery"])
    assert coaching.score.value < 100  # a conversation with faults never scores full marks
    assert {i["code"] for i in d["breakdown"]} <= {f.code for f in coaching.findings}


def test_strengths_never_lift_a_faulty_conversation_to_full_marks():
    turns = [{"speaker": "customer", "text": "Jeg er rasende!", "attitude": "hostile"},
             {"speaker": "agent", "text": "Jeg beklager, det forstår jeg godt. Hva skjedde?", "behaviours": ["apology", "empathy", "question"]},
             {"speaker": "agent", "text": "Jeg sender en ny i dag.", "behaviours": ["solution"]},
             {"speaker": "customer", "text": "Tusen takk, så bra!", "attitude": "loyal"}]
    coaching = Coach()(from_labels("t", "nb", turns))
    issues = {f.code for f in coaching.issues}
    assert issues == {"no_paraphrase", "no_follow_up"}  # 5 + 10 points
    # 100 - 15 + min(strengths 17, cap 10, half of 15 = 7.5) = 92.5, rounded half to even
    assert coaching.score.value == 92


def test_every_language_has_every_text_with_only_known_placeholders():
    assert set(available_languages()) == set(LANGUAGES)
    en = load_texts("en")
    for lang in LANGUAGES:
        t = load_texts(lang)
        assert set(t.findings) == set(RULES) == set(en.findings), lang
        assert set(t.summary) == set(en.summary) and set(t.labels) == set(en.labels) and set(t.severity) == set(en.severity)
        assert set(t.behaviours) == set(BEHAVIOURS) and set(t.score) == set(en.score) and set(t.format) == set(en.format)
        for code, base in t.findings.items():
            assert set(base.variants) == set(en.findings[code].variants) == set(VARIANTS.get(code, ())), (lang, code)
            for ft in (base, *base.variants.values()):
                fields = {f for _, f, _, _ in string.Formatter().parse(ft.message) if f}
                assert fields <= {"turn", "quote"}, (lang, code)
                assert not [f for _, f, _, _ in string.Formatter().parse(ft.suggestion) if f], (lang, code)


def test_every_rule_cites_an_existing_guidance_entry_from_a_seed():
    guidance = load_guidance()
    for code, rule in load_config().rules.items():
        for entry in (rule.guidance, *rule.variant_guidance.values()):
            assert entry in guidance, code
            assert guidance[entry].source in SEED_FILES
        assert set(rule.variant_guidance) <= set(VARIANTS.get(code, ())), code


BLAMES_CUSTOMER = [
    {"speaker": "customer", "text": "Fakturaen er dobbelt så høy som vanlig. Dette er ran!", "attitude": "hostile"},
    {"speaker": "agent", "text": "Måleren lyver ikke. Det er nok du som har glemt å lese av strømmen i fjor.",
     "behaviours": ["blame", "contradiction"]},
    {"speaker": "customer", "text": "Jeg har lest av hver måned.", "attitude": "hostile"},
]


@pytest.mark.parametrize("language", LANGUAGES)
def test_blaming_the_customer_gets_its_own_words_and_guidance(language):
    """The same finding and points; the wording and the cited guidance say the fault was put on the customer."""
    on_customer = Coach(feedback_language=language)(from_labels("t", "nb", BLAMES_CUSTOMER))
    on_others = Coach(feedback_language=language)(from_labels("t", "nb", COMPLAINT))
    mine = next(f for f in on_customer.issues if f.code == "blame_shifting")
    theirs = next(f for f in on_others.issues if f.code == "blame_shifting")
    texts = load_texts(language)
    assert mine.variant == "customer" and theirs.variant is None
    assert mine.title == texts.findings["blame_shifting"].variants["customer"].title != theirs.title
    assert mine.guidance.id == "blame.solve_not_judge" and theirs.guidance.id == "blame.never_blame_others"
    assert "glemt" in mine.message and mine.to_dict()["variant"] == "customer"
    points = {i.code: i.points for i in on_customer.score.items}
    assert points["blame_shifting"] == -load_config().rule("blame_shifting").points


def test_a_team_can_point_a_variant_to_its_own_guidance(tmp_path):
    team = tmp_path / "team.toml"
    team.write_text('[findings.blame_shifting]\nvariant_guidance = { customer = "contradiction.dont_prove_wrong" }\n',
                    encoding="utf-8")
    coaching = Coach(config=load_config(team))(from_labels("t", "nb", BLAMES_CUSTOMER))
    assert next(f for f in coaching.issues if f.code == "blame_shifting").guidance.id == "contradiction.dont_prove_wrong"
    team.write_text('[findings.blame_shifting]\nvariant_guidance = "blame.solve_not_judge"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(team)
    assert "variant_guidance" in str(err.value) and str(team) in str(err.value)
    team.write_text('[findings.blame_shifting]\nvariant_guidance = { custmer = "blame.solve_not_judge" }\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(team)
    assert "custmer" in str(err.value) and "customer" in str(err.value)
    team.write_text('[findings.blame_shifting]\nvariant_guidance = { customer = "no.such.entry" }\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        Coach(config=load_config(team))
    assert "no.such.entry" in str(err.value) and str(team) in str(err.value)


@pytest.mark.parametrize("language", LANGUAGES)
def test_feedback_is_written_in_the_requested_language(language):
    coaching = Coach(feedback_language=language)(from_labels("t", "nb", COMPLAINT))
    texts = load_texts(language)
    assert coaching.language == language
    first_issue = coaching.issues[0]
    assert first_issue.title == texts.findings[first_issue.code].title
    assert first_issue.guidance.text == load_guidance()[first_issue.guidance.id].text[language]
    # The quote is the evidence turn's own text.
    assert "gavekort" in next(f for f in coaching.issues if f.code == "compensation_too_early").message
    md = render_markdown("t", coaching)
    assert texts.labels["issues"] in md and texts.labels["strengths"] in md and f"{coaching.score.value}/100" in md
    assert first_issue.guidance.source in md


@pytest.mark.parametrize("language", LANGUAGES)
def test_markdown_explains_score_and_sources_in_words_not_codes(language):
    coaching = Coach(feedback_language=language)(from_labels("t", "nb", COMPLAINT))
    texts = load_texts(language)
    md = render_markdown("t", coaching)
    score_line = next(line for line in md.splitlines() if line.startswith(texts.score["base"].split("{")[0]))
    # Every finding that counted is named by its title with its points; no code is shown anywhere.
    for item in coaching.score.items:
        title = next(f.title for f in coaching.findings if f.code == item.code)
        assert f"{title} ({texts.signed(item.points)})" in score_line, (language, item.code)
    assert not [code for code in RULES if code in md], language
    if language != "en":
        assert "for strengths" not in md and "of the issues" not in md
    # Sources: readable titles of the section and the document, the file name only as a citation.
    for f in coaching.findings:
        assert f.guidance.section_title in md and f.guidance.document in md and f.guidance.source in md
        assert f.guidance.id not in md
    # The seed calls its subject "this enemy" (conflict.stay_calm backs de_escalated); agents never read that.
    assert "conflict.stay_calm" in {f.guidance.id for f in coaching.findings}
    assert not re.search(r"fiende|fjende|enemy", md, re.I)


@pytest.mark.parametrize("breakdown, expected", [
    # issues and strengths, strengths capped at half the issues
    ({"value": 93, "base": 100, "strength_bonus": 2.5, "strength_bonus_cap": 10, "strength_recovery": 0.5,
      "breakdown": [{"code": "no_paraphrase", "kind": "issue", "points": -5},
                    {"code": "apology_given", "kind": "strength", "points": 2},
                    {"code": "empathy_shown", "kind": "strength", "points": 2}]},
     ["Utgangspunktet er 100 poeng.", "Trukket fra: Problemet ble ikke oppsummert (\u22125).",
      "Styrkene ga tilbake 2,5 poeng: Du ba om unnskyldning (+2); Du viste forståelse (+2).",
      "Styrker kan gi tilbake høyst 10 poeng, og aldri mer enn 50\u00a0% av det som ble trukket fra."]),
    # no issues: strengths have nothing to win back
    ({"value": 100, "base": 100, "strength_bonus": 0, "strength_bonus_cap": 10, "strength_recovery": 0.5,
      "breakdown": [{"code": "apology_given", "kind": "strength", "points": 2}]},
     ["Utgangspunktet er 100 poeng.", "Ingenting ble trukket fra.",
      "Styrker kan bare hente inn poeng som er trukket fra, så disse trengtes ikke her: Du ba om unnskyldning (+2)."]),
    # more taken off than there is
    ({"value": 0, "base": 30, "strength_bonus": 0, "strength_bonus_cap": 10, "strength_recovery": 0.5,
      "breakdown": [{"code": "missing_apology", "kind": "issue", "points": -20},
                    {"code": "blame_shifting", "kind": "issue", "points": -20}]},
     ["Utgangspunktet er 30 poeng.", "Trukket fra: Ingen unnskyldning (\u221220); Skylden ble lagt på andre (\u221220).",
      "Scoren kan ikke bli lavere enn 0."]),
])
def test_score_breakdown_in_words(breakdown, expected):
    words = describe_score(breakdown, load_texts("nb"))
    assert list(words.sentences) == expected
    assert words.value == breakdown["value"] and words.bonus == breakdown["strength_bonus"]


def test_strengths_come_first_then_issues_by_severity():
    coaching = Coach()(from_labels("t", "nb", COMPLAINT))
    kinds = [f.kind for f in coaching.findings]
    assert kinds == sorted(kinds, key=lambda k: k != "strength")
    order = ["high", "medium", "low"]
    sev = [order.index(f.severity) for f in coaching.issues]
    assert sev == sorted(sev)


def test_unknown_feedback_language_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["score", str(tmp_path), "--feedback-language", "de", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--feedback-language" in result.output


def test_corpus_findings_match_the_rules():
    assert stale_findings(load_corpus(CORPUS)) == []
