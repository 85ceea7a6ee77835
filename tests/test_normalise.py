"""Normalisation of turn text: the cases in tests/data/normalise/*.jsonl, offsets back to the original,
properties over random text, and pathological input run in a subprocess (a regex that backtracks
catastrophically would hang there; the timeout is generous, it guards against hanging, it times nothing)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samtaleanalyse.ingest.build import RawTurn, ReadOptions, build_conversation
from samtaleanalyse.ingest.limits import Limits
from samtaleanalyse.text.normalise import EMAIL, LINK, USER, normalise_turn, part_marker, split_words

ROOT = Path(__file__).resolve().parents[1]
CASE_DIR = ROOT / "tests" / "data" / "normalise"
CASES = [(f.stem, k, json.loads(line)) for f in sorted(CASE_DIR.glob("*.jsonl"))
         for k, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1) if line.strip()]
PLACEHOLDERS = (LINK, EMAIL, USER)


def test_cases_cover_every_step_in_every_language() -> None:
    steps = {step for step, _, _ in CASES}
    assert len(steps) >= 12
    for step in steps - {"no_change", "email_quoted_history", "email_signature", "email_disclaimer"}:
        assert {c["language"] for s, _, c in CASES if s == step} == {"nb", "nn", "da", "sv", "en"}, step
    for step in ("email_quoted_history", "email_signature", "email_disclaimer"):
        langs = {c["language"] for s, _, c in CASES if s == step}
        assert len(langs) >= 4, (step, langs)


@pytest.mark.parametrize("step,line,case", CASES, ids=[f"{s}:{k}" for s, k, _ in CASES])
def test_case(step: str, line: int, case: dict) -> None:
    # As the pipeline calls it: with the conversation's names (none unless the case gives them). Nynorsk forms are
    # read as bokmål in nynorsk.jsonl's cases; the other files test their own step (and were written before it).
    result = normalise_turn(case["input"], case["channel"], frozenset(case.get("names", ())), case.get("language"),
                            nynorsk=step == "nynorsk")
    assert result.text == case["expected"], case.get("notes")
    assert result.original == case["input"]
    if case["expected"] == " ".join(case["input"].split()):
        assert not result.steps
    _check_offsets(result)


def _check_offsets(result) -> None:  # type: ignore[no-untyped-def]
    assert len(result.starts) == len(result.ends) == len(result.text)
    for i, ch in enumerate(result.text):
        a, b = result.starts[i], result.ends[i]
        assert 0 <= a <= b <= len(result.original)
        if ch.isalnum() and b - a == 1:
            # A letter or digit kept from the original points at itself (case and all).
            assert result.original[a] == ch


def test_spans_map_back_to_what_was_written() -> None:
    r = normalise_turn("@AskX Hi &amp; hello https://x.com/a #AdobeSucks", "chat")
    assert r.text == "Hi & hello [link] Adobe Sucks"
    quote = lambda s, e: r.original[slice(*r.original_span(s, e))]  # noqa: E731
    assert quote(0, 2) == "Hi"
    assert quote(3, 4) == "&amp;"
    assert quote(11, 17) == "https://x.com/a"
    assert quote(18, 29) == "AdobeSucks"
    assert quote(18, 23) == "Adobe"


def test_steps_are_named_for_explanations() -> None:
    r = normalise_turn("@A (1/2) see https://t.co/x &amp; mail a@b.no #GoodJob ^KM", "chat")
    assert set(r.steps) == {"html_entities", "links", "email_addresses", "reply_handles", "hashtags",
                            "part_marker", "signature_tag"}


def test_part_marker() -> None:
    assert part_marker("(1/2) I ordered") == (1, 2)
    assert part_marker("and then nothing 2/2") == (2, 2)
    assert part_marker("[3/3] last part") == (3, 3)
    assert part_marker("I paid 3/4 of it") is None
    assert part_marker("(3/2) odd") is None


def test_split_words() -> None:
    assert split_words("AdobeSucks") == "Adobe Sucks"
    assert split_words("HPSupport") == "HP Support"
    assert split_words("iPhone") == "iPhone"
    assert split_words("not_happy") == "not happy"


TEXT = st.lists(st.sampled_from(list("aAbBæøåäö@#/:.&;-_^*()[]>12 \t\n") + ["https://", "www.", "&amp;", "(1/2)",
                                                                                "Mvh ", " wrote:", "On ", ".no/"]),
                max_size=80).map("".join)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, st.sampled_from(["chat", "call", "email", None]))
def test_properties(text: str, channel: str | None) -> None:
    r = normalise_turn(text, channel)
    _check_offsets(r)
    # Never empty where the turn said something; never longer in whitespace; idempotent on what it made.
    if any(ch.isalnum() for ch in text):
        assert r.text.strip()
    assert r.text == " ".join(r.text.split())
    for s in range(len(r.text)):
        a, b = r.original_span(s, s + 1)
        assert 0 <= a <= b <= len(text)


PATHOLOGICAL = {
    "spaces": " " * 100_000, "tabs": "\t" * 100_000, "spaces_tabs": " \t" * 50_000,
    "text_in_spaces": "a" + " " * 100_000 + "b", "at": "@" * 50_000, "hash": "#" * 50_000,
    "part": "(1/" * 30_000, "gt": ">" * 50_000, "gt_lines": "> \n" * 20_000,
    "nested_quotes": "\n".join(">" * i + " hei" for i in range(1, 300)), "dashes": "-" * 50_000,
    "amp": "&" * 50_000, "amp_hash": "&#" * 30_000, "www": "www." * 20_000, "http": "http://" * 10_000,
    "dots": "a." * 50_000, "letters": "a" * 100_000, "at_letters": "a@" * 50_000, "on": "On " * 30_000,
    "den": "Den " * 30_000 + "skrev", "from": "From: " * 5_000, "closing": "Mvh " * 20_000,
    "confidential": "confidential " * 5_000, "slash": "/A" * 50_000, "caret": "^K" * 50_000,
    "hash_case": "#" + "aA" * 50_000, "addresses": "a.b@" * 25_000, "fractions": "1/" * 50_000,
    "inner_parts": "(1/2)" + " (2/2)" * 20_000, "handles_before_part": "(1/2) x " + "@a " * 20_000 + "(2/2)",
    "spaced_handles": "@" + " @" * 40_000, "brackets": "[(" * 30_000, "trailing_handles": "x" + " @a" * 40_000,
    "chain_gaps": "@a. " * 30_000 + "x", "marker_handles": "(1/2) " + "@a " * 30_000,
    "mentioned_names": "x Jonas " * 25_000, "names_in_spaces": "x" + " " * 100_000 + "Jonas Berg",
    "capitalised": "Jonas " * 30_000, "nynorsk": "ikkje kjedeleg " * 10_000,
}
_SCRIPT = """
import json, sys
from samtaleanalyse.text.normalise import normalise_turn
cases = json.loads(sys.stdin.read())
for name, text in cases.items():
    for channel in ("chat", "email"):
        normalise_turn(text, channel)
        normalise_turn(text, channel, frozenset(), "nn")  # names, register and nynorsk steps too
print("ok")
"""


def test_pathological_input_finishes() -> None:
    proc = subprocess.run([sys.executable, "-c", _SCRIPT], input=json.dumps(PATHOLOGICAL), capture_output=True,
                          text=True, timeout=60, env=_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return env


def _conv(*turns: tuple[str, str], max_chars: int = 5000):  # type: ignore[no-untyped-def]
    options = ReadOptions(limits=Limits(max_turn_chars=max_chars))
    return build_conversation("c1", [RawTurn(role, text) for role, text in turns], options, file="x.json")


def test_split_messages_are_merged_at_ingest() -> None:
    conv = _conv(("customer", "@AskX my order never came"), ("agent", "@bob (1/2) Sorry to hear that. Could you"),
                 ("agent", "@bob (2/2) DM us the order number? ^KM"), ("customer", "done"))
    assert [t.role for t in conv.turns] == ["customer", "agent", "customer"]
    assert [t.index for t in conv.turns] == [0, 1, 2]
    merged = conv.turns[1]
    assert merged.parts == 2 and merged.to_dict()["parts"] == 2
    assert merged.text == "@bob (1/2) Sorry to hear that. Could you @bob (2/2) DM us the order number? ^KM"
    assert normalise_turn(merged.text, "chat").text == "Sorry to hear that. Could you DM us the order number?"
    assert any("2 parts" in w for w in conv.warnings)


@pytest.mark.parametrize("turns", [
    # an incomplete run, parts out of order, another speaker between, two speakers
    [("agent", "(1/3) a"), ("agent", "(2/3) b"), ("customer", "c")],
    [("agent", "(2/2) a"), ("agent", "(1/2) b"), ("customer", "c")],
    [("agent", "(1/2) a"), ("customer", "c"), ("agent", "(2/2) b")],
    [("customer", "(1/2) a"), ("agent", "(2/2) b")],
])
def test_only_complete_runs_of_one_speaker_are_merged(turns: list[tuple[str, str]]) -> None:
    conv = _conv(*turns)
    assert len(conv.turns) == len(turns)
    assert all(t.parts == 1 for t in conv.turns)


def test_a_merge_over_the_length_limit_keeps_the_parts() -> None:
    conv = _conv(("customer", "(1/2) " + "a" * 40), ("customer", "(2/2) " + "b" * 40), ("agent", "ok"), max_chars=60)
    assert len(conv.turns) == 3


def test_each_model_reads_text_as_its_normalisation_version() -> None:
    from samtaleanalyse.classify.artefact import TurnModel
    from samtaleanalyse.classify.features import turn_inputs
    from samtaleanalyse.conversation import Conversation, Turn

    conversation = Conversation("c1", (Turn(0, "agent", "Hei, du snakker med Kari. Hva gjelder det?", language="nb"),
                                       Turn(1, "customer", "Hei Kari, regningen min er feil.", language="nb"),
                                       Turn(2, "agent", "Beklager, Kari. Vi sender Dem en ny, og De får den i dag.",
                                            language="nb")), language="nb")
    current = [i.text for i in turn_inputs(conversation)]
    assert current == ["Hei, du snakker med [name]. Hva gjelder det?", "Hei [name], regningen min er feil.",
                       "Beklager, [name]. Vi sender deg en ny, og du får den i dag."]
    assert [i.text for i in turn_inputs(conversation, version=2)][2] == "Beklager, [name]. Vi sender Dem en ny, og De får den i dag."
    assert [i.text for i in turn_inputs(conversation, version=1)] == [t.text for t in conversation.turns]

    def model(training: dict[str, object]) -> TurnModel:
        return TurnModel(heads={}, vectorizer=None, metadata={"training": training})  # type: ignore[arg-type]

    nynorsk = Conversation("c2", (Turn(0, "agent", "Eg beklagar at du har venta, det var leitt å høyre.", language="nn"),),
                           language="nn")
    assert [i.text for i in turn_inputs(nynorsk)] == ["Jeg beklager at du har venta, det var leitt å høyre."]
    assert [i.text for i in turn_inputs(nynorsk, version=3)] == [nynorsk.turns[0].text]

    assert model({"text_normalisation": "4"}).text_normalisation == 4
    assert model({"text_normalisation": "3"}).text_normalisation == 3
    assert model({"text_normalisation": "2"}).text_normalisation == 2
    assert model({}).text_normalisation == 1  # fitted before the version was recorded
    assert model({"text_normalisation": "x"}).text_normalisation == 1


def test_customers_plural_address_stays_and_polite_capitals_are_read() -> None:
    from samtaleanalyse.classify.features import turn_inputs
    from samtaleanalyse.conversation import Conversation, Turn

    sv = Conversation("sv1", (Turn(0, "customer", "Varför har ni inte svarat?", language="sv"),
                              Turn(1, "agent", "Ni får ett svar i dag.", language="sv")), language="sv")
    assert [i.text for i in turn_inputs(sv)] == ["Varför har ni inte svarat?", "Du får ett svar i dag."]
    da = Conversation("da1", (Turn(0, "customer", "Hvorfor har De ikke svaret?", language="da"),), language="da")
    assert [i.text for i in turn_inputs(da)] == ["Hvorfor har du ikke svaret?"]


def test_names_mentioned_inside_a_sentence_are_read_from_normalisation_5() -> None:
    from samtaleanalyse.classify.features import turn_inputs
    from samtaleanalyse.conversation import Conversation, Turn

    conversation = Conversation("c3", (
        Turn(0, "customer", "Jeg snakket med kollegaen deres Jonas i går, og han lovet å ringe.", language="nb"),
        Turn(1, "agent", "Jonas er ikke på jobb i dag, men jeg ser på saken.", language="nb")), language="nb")
    assert [i.text for i in turn_inputs(conversation)] == [
        "Jeg snakket med kollegaen deres [name] i går, og han lovet å ringe.",
        "[name] er ikke på jobb i dag, men jeg ser på saken."]  # a later mention at a sentence's start too
    assert [i.text for i in turn_inputs(conversation, version=4)] == [t.text for t in conversation.turns]


def test_a_polite_writers_sentence_start_and_informal_closings_are_read_from_normalisation_6() -> None:
    from samtaleanalyse.classify.features import turn_inputs
    from samtaleanalyse.conversation import Conversation, Turn

    conversation = Conversation("c4", (
        Turn(0, "customer", "De har sendt feil regning til meg.", language="nb"),
        Turn(1, "agent", "Vi beklager at De har fått feil regning, og sender Dem en ny.", language="nb"),
        Turn(2, "agent", "De kan prøve å logge inn igjen nå.", language="nb"),
        Turn(3, "agent", "Hei,\n\nNy regning er sendt.\n\nCheers,\nSiri", language="nb")), language="nb",
        channel="email")
    assert [i.text for i in turn_inputs(conversation)] == [
        "De har sendt feil regning til meg.",            # the customer writes no polite form: 'they'
        "Vi beklager at du har fått feil regning, og sender deg en ny.",
        "Du kan prøve å logge inn igjen nå.",            # the agent is polite in another turn
        "Hei, Ny regning er sendt."]
    assert [i.text for i in turn_inputs(conversation, version=5)][2:] == [
        "De kan prøve å logge inn igjen nå.", "Hei, Ny regning er sendt. Cheers, Siri"]


def test_politeness_is_read_from_what_the_writer_wrote() -> None:
    """A quoted reply or a disclaimer's polite "De" does not make the customer a polite writer."""
    from samtaleanalyse.classify.features import turn_inputs
    from samtaleanalyse.conversation import Conversation, Turn

    quoted = ("De har sendt feil pakke igjen!\n\nOn 3 March Kundeservice wrote:\n> Vi beklager at De har ventet.\n"
              "\nDersom De har mottatt denne e-posten ved en feil, er den konfidensiell og skal slettes.")
    conversation = Conversation("c6", (Turn(0, "customer", quoted, language="nb"),), language="nb", channel="email")
    assert [i.text for i in turn_inputs(conversation)] == ["De har sendt feil pakke igjen!"]


def test_language_identification_reads_informal_closings_as_before_normalisation_6() -> None:
    from samtaleanalyse.text.normalise import language_text

    text = "Hi,\n\nDone.\n\nCheers,\nSiri"
    assert language_text(text, "email") == normalise_turn(text, "email", informal_closings=False).text
    assert "Cheers" in language_text(text, "email") and "Cheers" not in normalise_turn(text, "email").text
