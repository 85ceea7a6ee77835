"""The guidance knowledge base: complete, in five languages, citing the seed documents."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from samtaleanalyse import ConfigError
from samtaleanalyse.guidance import SEED_FILES, load_guidance, seed_title
from samtaleanalyse.guidance import SEEDS as SEED_DOCUMENTS

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
REQUIRED = """complaint.six_steps complaint.apologise complaint.investigate complaint.offer_solution
complaint.compensation_not_first complaint.follow_up complaint.tell_improvement feelings.before_solution
feelings.thank_customer blame.never_blame_others contradiction.dont_prove_wrong empathy.acknowledge listening.active
listening.paraphrase language.adapt conflict.stay_calm conflict.acknowledge_perspectives conflict.common_ground
conflict.misunderstanding conflict.expectations followup.after_contact loyalty.ambassadors attitudes.individual
feedback.praise feedback.criticism""".split()


def test_required_entries_exist_in_all_languages():
    entries = load_guidance()
    assert set(REQUIRED) <= set(entries)
    for e in entries.values():
        for lang in ("nb", "nn", "da", "sv", "en"):
            title, text = e.in_language(lang)
            assert title and len(text) > 40


def _anchors(section: str) -> list[str]:
    """The heading before any qualifier, and the quoted paragraph openings, of a section reference."""
    head = re.split(r" – | \(|, steg|, ", section)[0].strip()
    quoted = [q.split("…")[0].strip() for q in re.findall(r"[»«]([^»«]{12,}?)[»«]", section)]
    return [head, *[q for q in quoted if len(q) >= 12]]


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside this checkout")
def test_every_entry_cites_a_seed_and_a_section_found_in_it():
    for e in load_guidance().values():
        assert e.source in SEED_FILES
        seed = " ".join((SEEDS / e.source).read_text(encoding="utf-8", errors="replace").split())
        assert any(a in seed for a in _anchors(e.section)), (e.id, e.section)


def test_team_override_and_addition(tmp_path):
    (tmp_path / "ours.toml").write_text(
        'id = "complaint.apologise"\n[text]\nnb = "Hos oss sier vi alltid unnskyld først, med navnet ditt."\n',
        encoding="utf-8")
    (tmp_path / "new.toml").write_text(
        'id = "team.callback"\nsource = "001_cdcbb1fedeaa4bd5.txt"\nsection = "egen rutine"\ntopics = ["follow_up"]\n'
        + "[title]\n" + "".join(f'{l} = "Ring tilbake"\n' for l in ("nb", "nn", "da", "sv", "en"))
        + "[text]\n" + "".join(f'{l} = "Ring alltid tilbake innen to timer når du har lovet det."\n'
                               for l in ("nb", "nn", "da", "sv", "en")), encoding="utf-8")
    entries = load_guidance(tmp_path)
    assert entries["complaint.apologise"].text["nb"].startswith("Hos oss")
    assert entries["complaint.apologise"].text["sv"] == load_guidance()["complaint.apologise"].text["sv"]
    assert "team.callback" in entries


def test_override_citing_unknown_source_is_rejected(tmp_path):
    (tmp_path / "bad.toml").write_text('id = "complaint.apologise"\nsource = "blog.txt"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="not a seed document"):
        load_guidance(tmp_path)


def test_every_entry_has_a_respectful_section_title_per_language():
    for e in load_guidance().values():
        seed_language = SEED_DOCUMENTS[e.source].language
        for lang in ("nb", "nn", "da", "sv", "en"):
            shown = e.section_in(lang)
            assert shown and shown == e.section_title[lang], (e.id, lang)
            # The module's heading "HVORDAN HÅNTERE DENNE FIENDEN" calls its subject an enemy: never shown.
            assert not re.search(r"fiende|fjende|enemy", shown, re.I), (e.id, lang)
            if lang != seed_language:
                assert shown != e.section, (e.id, lang)  # translated, not the seed's heading as it stands


def test_every_seed_has_a_readable_title_per_language():
    assert set(SEED_DOCUMENTS) == set(SEED_FILES)
    for name in SEED_DOCUMENTS:
        titles = [seed_title(name, lang) for lang in ("nb", "nn", "da", "sv", "en")]
        assert all(t and name not in t for t in titles) and len(set(titles)) >= 4, name
    assert seed_title("team-handbook.txt", "nb") == "team-handbook.txt"


def test_override_citing_another_section_drops_the_old_section_titles(tmp_path):
    (tmp_path / "ours.toml").write_text('id = "conflict.stay_calm"\nsection = "Vår egen rutine"\n', encoding="utf-8")
    entry = load_guidance(tmp_path)["conflict.stay_calm"]
    assert entry.section_in("en") == "Vår egen rutine"
    (tmp_path / "ours.toml").write_text('id = "conflict.stay_calm"\n[text]\nnb = "Hold roen, alltid, også når det koker."\n',
                                        encoding="utf-8")
    assert load_guidance(tmp_path)["conflict.stay_calm"].section_in("en") == load_guidance()["conflict.stay_calm"].section_in("en")
