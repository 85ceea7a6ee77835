"""The per-conversation HTML report: language, escaping, highlights, uncertain turns, self-containment."""
from __future__ import annotations

import copy
import re
import tomllib
from html import unescape

import pytest

from samtaleanalyse.coaching import RULES
from samtaleanalyse.coaching.texts import load_texts
from samtaleanalyse.conversation import LANGUAGES
from samtaleanalyse.errors import ConfigError
from samtaleanalyse.guidance import SEED_FILES, load_guidance, seed_title
from samtaleanalyse.labels import ATTITUDES, BEHAVIOURS
from samtaleanalyse.report.conversation import TEXTS_DIR, evidence_pieces, load_page_texts, render_conversation_html
from tests.report.conversation_records import Page, build_record, load_cases

CASES = load_cases()
NORDIC = [l for l in LANGUAGES if l != "en"]


def record(language: str) -> dict:
    return build_record(CASES[language])


def _ui_words(language: str) -> set[str]:
    """Every word of the fixed texts a page in ``language`` can show."""
    page = tomllib.loads((TEXTS_DIR / f"{language}.toml").read_text(encoding="utf-8"))
    texts = load_texts(language)
    strings = [v for table in page.values() if isinstance(table, dict) for v in table.values()]
    strings += [*texts.labels.values(), *texts.attitudes.values(), *texts.trajectory.values(), *texts.severity.values(),
                *texts.behaviours.values(), *texts.score.values(), *texts.summary.values()]
    strings += [s for base in texts.findings.values() for f in (base, *base.variants.values())
                for s in (f.title, f.message, f.suggestion)]
    # The guidance an agent reads: entry titles and texts, section and document titles.
    strings += [s for e in load_guidance().values() for s in (*e.in_language(language), e.section_in(language))]
    strings += [seed_title(name, language) for name in SEED_FILES]
    return {w.casefold() for s in strings for w in re.findall(r"[^\W\d_]+", re.sub(r"\{\w+\}", " ", s))}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_renders_a_self_contained_page(language):
    rec = record(language)
    html = render_conversation_html(rec)
    page = Page(html)
    assert f'<html lang="{language}">' in html
    # Nothing from the internet and nothing to run: no URL, script, external stylesheet, font or image.
    assert "http" not in html and "//" not in html.replace("<!DOCTYPE", "")
    assert not [t for t, _ in page.tags if t in ("script", "link", "img", "iframe", "object", "embed")]
    assert not [a for _, a in page.tags if "src" in a or any(k.startswith("on") for k in a)]
    # Landmarks and headings a screen reader can jump between; one h1.
    tags = [t for t, _ in page.tags]
    assert {"header", "nav", "main", "footer"} <= set(tags) and tags.count("h1") == 1
    # Every finding is there in the record's order (strengths first), each linking to its turn (numbered from 1).
    headings = re.findall(r'<h3 id="finding-\d+-h"><span[^>]*>[^<]*</span> (.*?)</h3>', html)
    assert [unescape(h) for h in headings] == [f["title"] for f in rec["findings"]]
    anchors = {a["id"] for t, a in page.tags if t == "li" and "id" in a}
    for f in rec["findings"]:
        for i in f["turns"]:
            assert f'href="#turn-{i + 1}"' in html and f"turn-{i + 1}" in anchors


@pytest.mark.parametrize("language", NORDIC)
def test_no_english_leaks_into_nordic_pages(language):
    page = Page(render_conversation_html(record(language)))
    content = {w.casefold() for t in CASES[language]["turns"] for w in re.findall(r"[^\W\d_]+", t["text"] + " " + t["speaker_label"])}
    content |= {"unit", "test", "model"}  # the record's model name
    english_only = _ui_words("en") - _ui_words(language) - content
    leaked = page.words() & english_only
    assert not leaked, f"{language} page shows English words {sorted(leaked)}"


@pytest.mark.parametrize("language", NORDIC)
def test_no_fixed_string_stays_the_same_in_english(language):
    """The same record rendered in its language and in English: any text the two pages share must come
    from the record itself (what was said, names, ids), never a fixed string left untranslated."""
    rec = record(language)
    own, english = Page(render_conversation_html(rec)), Page(render_conversation_html(rec, language="en"))
    shared = {s.strip() for s in own.texts} & {s.strip() for s in english.texts}
    from_record = [t["text"] for t in rec["turns"]] + [t["speaker_label"] for t in rec["turns"]]
    from_record += [str(rec[k]) for k in ("id", "agent_id", "team", "queue", "model") if rec.get(k)]
    from_record += list(SEED_FILES)
    # Words that are the same in both languages: a team is a "team", a chat a "chat" in Norwegian too.
    same_word = {"Team", "chat", "UTC", "neutral", "e", "mail", "Model"}
    leftovers = []
    for s in shared:
        if any(s in part for part in from_record):   # a stretch of what was said
            continue
        rest = s
        for part in sorted(from_record, key=len, reverse=True):
            rest = rest.replace(part, " ")
        rest = re.sub(r"[\W\d_]+", " ", rest).split()
        leftovers += [w for w in rest if w not in same_word]
    assert not leftovers, f"untranslated in {language}: {sorted(set(leftovers))}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_raw_codes_are_shown(language):
    page = Page(render_conversation_html(record(language)))
    shown = "\n".join(page.texts + page.attributes)
    codes = set(RULES) | {b for b in BEHAVIOURS if "_" in b} | {"sceptical", "hostile"} - set(_ui_words(language))
    assert not [c for c in codes if re.search(rf"\b{c}\b", shown)]
    assert not re.search(r"\b(complaint|listening|conflict|feelings)\.\w+", shown)  # guidance ids


def test_turn_text_and_record_values_are_escaped():
    rec = record("nb")
    rec["id"] = 'samtale <b>"1"</b>'
    rec["team"] = "<i>Team</i> & co"
    rec["turns"][0]["text"] = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    rec["turns"][0]["evidence"] = [{"label": "hostile", "start": 0, "end": 8, "weight": 0.5}]
    rec["turns"][2]["speaker_label"] = "<em>Siri</em>"
    html = render_conversation_html(rec)
    page = Page(html)
    assert "<script" not in html and "<img" not in html and "<b>" not in html and "<em>" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert page.turn_text["turn-1"] == rec["turns"][0]["text"]   # shown as text, character for character
    assert page.marked["turn-1"] == set(range(0, 8))
    assert rec["id"] in page.texts[0] or any(rec["id"] in t for t in page.texts)
    assert "<i>Team</i> & co" in page.texts


@pytest.mark.parametrize("language", LANGUAGES)
def test_evidence_offsets_become_marks_on_exactly_those_characters(language):
    rec = record(language)
    page = Page(render_conversation_html(rec))
    texts = load_texts(language)
    for t in rec["turns"]:
        anchor = f"turn-{t['index'] + 1}"
        assert page.turn_text.get(anchor) == t["text"]
        wanted = {i for e in t.get("evidence", ()) for i in range(e["start"], e["end"])}
        assert page.marked.get(anchor, set()) == wanted, anchor
        # Each highlight names its labels in words, in the title a mouse or screen reader finds.
        names = {texts.attitudes[e["label"]] if e["label"] in ATTITUDES else texts.behaviours[e["label"]]
                 for e in t.get("evidence", ())}
        titles = {n.strip() for title in page.mark_titles.get(anchor, []) for n in title.split(",")}
        assert titles == names, anchor


def test_evidence_pieces_overlaps_runs_and_bad_offsets():
    text = "Det beklager jeg virkelig, jeg skjønner det."
    ev = [{"label": "apology", "start": 4, "end": 12, "weight": 0.4},
          {"label": "empathy", "start": 4, "end": 25, "weight": 0.2},      # overlaps the apology
          {"label": "empathy", "start": 31, "end": 39, "weight": 0.2},
          {"label": "question", "start": 40, "end": 43, "weight": -0.3},   # speaks against its label
          {"label": "thanks", "start": 40, "end": 400},                    # runs past the end: clipped
          {"label": "solution", "start": 9, "end": 9}, {"start": 1}]       # empty, malformed
    pieces = evidence_pieces(text, ev)
    assert "".join(p.text for p in pieces) == text
    marked = [(p.text, p.labels) for p in pieces if p.labels]
    assert marked == [("beklager", ("apology", "empathy")), (" jeg virkelig", ("empathy",)),
                      ("skjønner", ("empathy",)), ("det.", ("thanks",))]
    # A run "jeg skjønner" split by a space keeps one label tag, after its last word.
    run = evidence_pieces("ikke godt nok", [{"label": "hostile", "start": 0, "end": 4}, {"label": "hostile", "start": 5, "end": 9},
                                            {"label": "hostile", "start": 10, "end": 13}])
    assert [p.tag for p in run if p.labels] == [False, False, True]
    assert evidence_pieces("", ev) == () and evidence_pieces("ok", None)[0].labels == ()


@pytest.mark.parametrize("language", LANGUAGES)
def test_uncertain_turns_are_marked_for_a_person(language):
    rec = record(language)
    html = render_conversation_html(rec)
    phrase = load_page_texts(language).page["uncertain"]
    for t in rec["turns"]:
        block = re.search(rf'<li id="turn-{t["index"] + 1}" class="([^"]*)">(.*?)</li>', html, re.S)
        assert block, t["index"]
        assert ("is-uncertain" in block.group(1).split()) == bool(t.get("uncertain"))
        assert (phrase in block.group(2)) == bool(t.get("uncertain"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_turn_a_guideline_rule_relabelled_says_so_in_the_agents_language(language):
    rec = record(language)
    agent = next(t for t in rec["turns"] if t.get("speaker") == "agent")
    agent["label_rules"] = ["d8_sympathy", "negated_fault", "a_rule_of_a_later_version"]
    html = render_conversation_html(rec)
    page = load_page_texts(language).page
    block = re.search(rf'<li id="turn-{agent["index"] + 1}" class="[^"]*">(.*?)</li>', html, re.S)
    assert block and html.count('class="tag tag-rule"') == 2                            # an unknown rule shows nothing
    for rule in ("d8_sympathy", "negated_fault"):
        assert page[f"rule_{rule}"] in unescape(block.group(1))


@pytest.mark.parametrize("language", LANGUAGES)
def test_attitude_describes_the_turn_with_words_beside_the_colour(language):
    rec = record(language)
    page = Page(render_conversation_html(rec))
    texts, p = load_texts(language), load_page_texts(language).page
    for t in rec["turns"]:
        if t.get("attitude"):
            assert p["attitude_tag"].format(attitude=texts.attitudes[t["attitude"]]) in page.texts
    # The course of the conversation: start and end.
    course = rec["attitude_trajectory"]
    assert texts.attitudes[course["start"]] in "\n".join(page.texts) and p["start"] + ":" in page.texts


def test_summary_score_words_and_metadata():
    rec = record("nb")
    page = Page(render_conversation_html(rec))
    shown = "\n".join(page.texts)
    texts = load_texts("nb")
    assert rec["summary"] in page.texts and str(rec["score"]) in page.texts
    for item in rec["score_breakdown"]["breakdown"]:
        if item["kind"] == "issue":
            assert texts.findings[item["code"]].title in shown
    for value in ("A901", "Kundesenter Nord", "chat", "2026-10-05 08:30 UTC", "norsk bokmål"):
        assert value in page.texts, value
    assert "Kø" not in page.texts  # no queue given: no empty field
    queue = Page(render_conversation_html(record("da")))
    assert "Reklamationer" in queue.texts and "e-mail" in queue.texts


def test_guidance_cited_by_readable_titles_even_from_older_records():
    rec = record("da")
    for f in rec["findings"]:  # as records were written before sections and documents had titles
        f["guidance"].pop("section_title")
        f["guidance"].pop("document")
        f["guidance"]["section"] = "HVORDAN HÅNTERE DENNE FIENDEN – Strategier for konfliktløsning"
    html = render_conversation_html(rec)
    assert not re.search(r"fiende|fjende|enemy", html, re.I)
    guidance = load_guidance()
    for f in rec["findings"]:
        assert guidance[f["guidance"]["id"]].section_in("da") in html
        assert f["guidance"]["source"] in html   # the file name stays, as a small citation
    assert "Service: medarbejdere, ledelse og klagehåndtering" in html


def test_another_language_rewrites_the_findings_from_their_codes():
    rec = record("nb")
    english = Page(render_conversation_html(rec, language="en"))
    texts = load_texts("en")
    shown = "\n".join(english.texts)
    for f in rec["findings"]:
        assert texts.findings[f["code"]].title in shown and f["title"] not in english.texts
    assert "The customer raised a complaint" in shown and rec["summary"] not in shown
    assert 'lang="en"' in render_conversation_html(rec, language="en")


def test_another_language_keeps_a_findings_variant():
    rec = record("nb")
    blame = dict(rec["findings"][0], code="blame_shifting", kind="issue", variant="customer")
    rec["findings"] = [blame, dict(blame, variant=None)]
    shown = "\n".join(Page(render_conversation_html(rec, language="en")).texts)
    words = load_texts("en").findings["blame_shifting"]
    assert words.variants["customer"].title in shown and words.title in shown


def test_record_without_coaching_shows_the_transcript():
    rec = {k: v for k, v in record("sv").items()
           if k not in ("findings", "score", "score_breakdown", "summary", "attitude_trajectory", "feedback_language")}
    page = Page(render_conversation_html(copy.deepcopy(rec)))
    assert page.turn_text["turn-1"] == rec["turns"][0]["text"]
    assert load_texts("sv").labels["summary"] not in page.texts


def test_unknown_language_is_a_config_error():
    with pytest.raises(ConfigError, match="nb, nn, da, sv, en"):
        render_conversation_html(record("nb"), language="de")


def test_every_language_has_every_page_text():
    en = tomllib.loads((TEXTS_DIR / "en.toml").read_text(encoding="utf-8"))
    for language in LANGUAGES:
        data = tomllib.loads((TEXTS_DIR / f"{language}.toml").read_text(encoding="utf-8"))
        assert data["language"] == language
        for table in ("page", "meta", "channels", "languages"):
            assert set(data[table]) == set(en[table]), (language, table)
            for key, value in data[table].items():
                assert set(re.findall(r"\{(\w+)\}", value)) == set(re.findall(r"\{(\w+)\}", en[table][key])), (language, key)
