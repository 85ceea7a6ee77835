"""The QA dashboard: aggregation on known rows, rows from scored records, and the page's safety and edge cases."""
from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from samtaleanalyse.conversation import LANGUAGES
from samtaleanalyse.errors import ConfigError
from samtaleanalyse.report.aggregate import Group, Measures, summarise
from samtaleanalyse.report.dashboard import load_dashboard_texts, local_href, render_dashboard, write_dashboard
from samtaleanalyse.report.rows import ConversationRow, row_from_record
from tests.report.synthetic import synthetic_rows

DATA = Path(__file__).resolve().parents[1] / "data" / "report"
CASES = tomllib.loads((DATA / "aggregate_cases.toml").read_text(encoding="utf-8"))["cases"]
UNKNOWN = "(unknown)"


def make_row(id: str, **fields: Any) -> ConversationRow:
    """A row with every field not given left empty (None, false, 0 or ())."""
    defaults: dict[str, Any] = dict(
        report=f"feedback/{id}.html", agent_id=None, team=None, queue=None, channel=None, language=None,
        started_at=None, scored_at="2026-12-01T06:00:00+00:00", score=None, complaint=False, hostile_start=False,
        de_escalated=False, handled_in_order=False, ends_loyal=False, uncertain_turns=0)
    for name in ("issues", "severe_issues", "strengths"):
        fields[name] = tuple(fields.get(name, ()))
    return ConversationRow(id=id, **(defaults | fields))


def _expected(value: Any) -> Any:
    return None if value == "none" else value


def _check_measures(m: Measures, expected: dict[str, Any], where: str) -> None:
    for name, want in expected.items():
        want = _expected(want)
        got = m.top_issue[0] if name == "top_issue" and m.top_issue else getattr(m, name) if name != "top_issue" else None
        if isinstance(want, float):
            assert got == pytest.approx(want, abs=1e-6), f"{where}: {name}"
        else:
            assert got == want, f"{where}: {name}"


def _group(groups: tuple[Group, ...], key: str) -> Group:
    wanted = None if key == UNKNOWN else key
    return next(g for g in groups if g.key == wanted)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_aggregation(case: dict[str, Any]) -> None:
    rows = [make_row(**r) for r in case["rows"]]
    s = summarise(rows, links=case.get("links", 12))
    _check_measures(s.overall, case.get("overall", {}), "overall")
    for kind in ("teams", "agents"):
        for key, expected in case.get(kind, {}).items():
            g = _group(getattr(s, kind), key)
            if "team" in expected:
                assert g.team == _expected(expected.pop("team"))
            _check_measures(g.measures, expected, f"{kind} {key}")
    if "granularity" in case:
        assert s.granularity == _expected(case["granularity"])
    if "periods" in case:
        got = [(p.start.isoformat(), p.measures.n, p.measures.mean_score) for p in s.periods]
        assert got == [tuple(p) for p in case["periods"]]
    if "needs_human" in case:
        assert [r.id for r in s.needs_human.rows] == case["needs_human"]
    if "issues" in case:
        assert [[i.code, i.count, i.severe] for i in s.issues] == case["issues"]
    for name, ids in case.get("behind", {}).items():
        assert [r.id for r in s.behind[name].rows] == ids, name
    # Every list behind a number knows how many rows it stands for, even when it shows fewer.
    assert s.behind["mean_score"].total == s.overall.scored


def test_a_stream_is_read_once() -> None:
    rows = (make_row(f"c{i}", team="T", score=50 + i, started_at="2026-11-02") for i in range(5))
    s = summarise(rows)
    assert s.overall.n == 5 and s.overall.mean_score == pytest.approx(52.0)


# ---------------------------------------------------------------- rows from scored records


def _demo() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    records = [json.loads(line) for line in (DATA / "demo_conversations.jsonl").read_text(encoding="utf-8").splitlines()]
    expected = {e["id"]: e for e in map(json.loads, (DATA / "demo_rows.jsonl").read_text(encoding="utf-8").splitlines())}
    assert set(expected) == {r["id"] for r in records}
    return [(r, expected[r["id"]]) for r in records]


@pytest.mark.parametrize("record,expected", _demo(), ids=lambda x: x["id"] if isinstance(x, dict) and "turns" in x else "")
def test_row_from_record(record: dict[str, Any], expected: dict[str, Any]) -> None:
    row = row_from_record(record, report="feedback/x.html", scored_at="2026-12-01T06:00:00+00:00")
    got = asdict(row)
    for name, want in expected.items():
        assert got[name] == (tuple(want) if isinstance(want, list) else want), name
    assert row.report == "feedback/x.html" and row.scored_at == "2026-12-01T06:00:00+00:00"


def test_row_from_record_defaults_scored_at_to_now() -> None:
    record = _demo()[0][0]
    row = row_from_record(record)
    assert row.report is None and row.day is not None and row.day >= date(2026, 1, 1)


# ---------------------------------------------------------------- the page


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("href", "src", "xlink:href", "action", "data")]


def _parse(html: str) -> _Links:
    p = _Links()
    p.feed(html)
    return p


@pytest.fixture(scope="module")
def page() -> str:
    return render_dashboard(synthetic_rows(300), language="en", generated_at="2026-12-01 06:00 UTC")


def test_no_resource_leaves_the_machine(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    parsed = _parse(page)
    assert parsed.urls, "the page links to its conversations"
    for url in parsed.urls:
        assert url.startswith("#") or url.startswith("feedback/"), url
    assert not re.search(r"url\(|@import|<link\b|<iframe\b|<img\b", page)


def test_every_chart_is_inline_svg(page: str) -> None:
    # four trends, the coaching points, conversations and the per-team trend
    assert page.count('<svg role="img" class="chart"') == 7
    assert "<script src" not in page


@pytest.mark.parametrize("link,followed", [
    ("feedback/c.html", True), ("feedback/a%20b.html", True), ("../day1/feedback/c.html#top", True),
    ("https://example.org/a.html", False), ("//example.org/a.html", False), ("javascript:alert(1)", False),
    ("  javascript:alert(1)", False), ("java\tscript:alert(1)", False), ("/etc/passwd", False),
    ("C:\\reports\\a.html", False), ("\\\\host\\share\\a.html", False), ("", False),
])
def test_only_relative_report_links_are_followed(link: str, followed: bool) -> None:
    assert local_href(link) == (link if followed else None)


def test_a_report_link_outside_the_folder_is_shown_as_text() -> None:
    rows = [make_row(c, score=10 * i, severe_issues=("blame_shifting",), issues=("blame_shifting",), report=link)
            for i, (c, link) in enumerate((("a", "https://example.org/a.html"), ("b", "javascript:alert(1)"),
                                            ("c", "feedback/c.html")))]
    html = render_dashboard(rows)
    assert "example.org" not in html and "javascript:" not in html
    assert 'href="feedback/c.html"' in html and "<td>a</td>" in html


def test_names_from_exports_are_escaped() -> None:
    evil_team = '<script>alert("team")</script>'
    evil_agent = "<b>A&B</b>"
    evil_id = '"><img src=x onerror=alert(1)>'
    rows = [make_row(evil_id, team=evil_team, agent_id=evil_agent, score=40, started_at="2026-11-02",
                     severe_issues=("missing_apology",), issues=("missing_apology",), report=f"feedback/{evil_id}.html"),
            make_row("ok", team="Other", agent_id="A2", score=90, started_at="2026-11-09")]
    html = render_dashboard(rows)
    parsed = _parse(html)
    assert evil_team not in html and evil_agent not in html and evil_id not in html
    assert "&lt;script&gt;alert(&#34;team&#34;)&lt;/script&gt;" in html
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in html
    assert parsed.tags.count("script") == 1 and "img" not in parsed.tags and "b" not in parsed.tags
    # In the charts too (the team trend's legend).
    assert "&lt;script&gt;" in html.split("<svg", 2)[-1]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_every_label(language: str) -> None:
    texts, english = load_dashboard_texts(language), load_dashboard_texts("en")
    for section in ("locale", "labels", "languages", "channels"):
        assert set(getattr(texts, section)) == set(getattr(english, section)), section
    # One day of rows: every section but the trends (those are checked in Norwegian below), one chart to render.
    html = render_dashboard(synthetic_rows(60, days=1), language=language, generated_at="x")
    assert f'<html lang="{language}">' in html
    assert f"<h1>{texts('title')}</h1>" in html and texts("needs_human") in html and texts("agents") in html
    # The filter's "{shown} of {total}" is filled in by the script; nothing else may keep its braces.
    shown = re.sub(r"<script>.*?</script>|data-template=\"[^\"]*\"", "", html, flags=re.S)
    assert not re.search(r"\{[a-z_]+\}", shown), "a placeholder was left unfilled"
    if language != "en":
        assert english("needs_human") not in html and english("coaching") not in html


def test_charts_in_the_dashboard_language() -> None:
    html = render_dashboard(synthetic_rows(120, days=20), language="nb", generated_at="x")
    charts = "".join(re.findall(r"<svg.*?</svg>", html, flags=re.S))
    assert "50\u00a0%" in charts and "nov." in charts          # axis labels: "50 %", "8. nov."
    assert "andel av samtalene" in charts and "Samtaler per dag" in html


def test_numbers_in_the_dashboard_language() -> None:
    rows = [make_row(f"c{i}", team="T", score=s, complaint=True, handled_in_order=i < 2, started_at="2026-11-02")
            for i, s in enumerate((90, 85, 80))]
    nb = render_dashboard(rows, language="nb")
    en = render_dashboard(rows, language="en")
    assert ">85,0<" in nb and "67\u00a0%" in nb and "2 av 3" in nb
    assert ">85.0<" in en and "67%" in en and "2 of 3" in en


def test_no_rows() -> None:
    html = render_dashboard([], language="sv")
    assert load_dashboard_texts("sv")("no_rows") in html and "<table" not in html and "<svg" not in html


def test_rows_without_scores() -> None:
    html = render_dashboard([make_row("a"), make_row("b")])
    assert load_dashboard_texts("en")("no_scored") in html and "<table" not in html


def test_no_complaints_says_so_instead_of_zero() -> None:
    rows = [make_row(f"c{i}", team="T", agent_id="A", score=100, started_at="2026-11-02") for i in range(3)]
    html = render_dashboard(rows)
    card = html.split('id="card-2"', 1)[1].split("</article>", 1)[0]
    assert "no complaints" in card and "0%" not in card
    assert "no hostile starts" in html


def test_one_team_and_missing_names() -> None:
    rows = [make_row("a", team="Solo", agent_id=None, score=70, started_at="2026-11-02"),
            make_row("b", team="Solo", agent_id="A1", score=90, started_at="2026-11-20")]
    html = render_dashboard(rows)
    teams = html.split('id="teams-table"', 1)[1].split("</table>", 1)[0]
    assert teams.count("<tr>") == 2  # the header and one team
    agents = html.split('id="agents-table"', 1)[1].split("</table>", 1)[0]
    assert ">unknown<" in agents
    # One team: no per-team trend, but the day-by-day volume is there.
    assert "Mean score per team" not in html and "Conversations per day" in html


def test_unknown_language_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="de"):
        render_dashboard([], language="de")


def test_many_rows_make_a_page_no_bigger() -> None:
    small = render_dashboard(synthetic_rows(300, days=10), generated_at="x")
    large = render_dashboard(synthetic_rows(6_000, days=10), generated_at="x")
    # Aggregated first: 20 times the rows, about the same page (numbers get a digit or two longer).
    assert len(large) < 1.2 * len(small)
    assert "6,000 conversations" in large


def test_write_dashboard(tmp_path: Path) -> None:
    path = write_dashboard([make_row("a", score=50)], tmp_path / "out", language="da")
    assert path.name == "report.html" and 'lang="da"' in path.read_text(encoding="utf-8")
