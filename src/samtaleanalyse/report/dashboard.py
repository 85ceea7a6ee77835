"""The QA dashboard (report.html): a few measures and their trend, every number linked to its conversations.

``render_dashboard`` aggregates the rows first (aggregate.py), then renders one self-contained page:
charts as inline SVG (charts.py), tables that sort and filter with a small inline script, and all
data visible without it. The wording is in texts/dashboard/<language>.toml, the coaching points'
titles in coaching/texts/<language>.toml.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ..coaching.texts import load_texts
from ..conversation import LANGUAGES
from ..errors import ConfigError
from . import charts
from .aggregate import LINKS_PER_AGENT, LINKS_PER_NUMBER, Group, Measures, Sample, Summary, summarise
from .rows import ConversationRow, row_from_record

__all__ = ["ConversationRow", "DASHBOARD_FILE", "render_dashboard", "row_from_record", "summarise",
           "write_dashboard"]

DASHBOARD_FILE = "report.html"
TEXTS_DIR = Path(__file__).parent / "texts" / "dashboard"
TEMPLATES_DIR = Path(__file__).parent / "templates"
# A link to a conversation's report must stay beside the page: a relative path. Browsers drop blanks and
# control characters inside a URL ("java\tscript:"), so any of those, a scheme, a host or a root rejects it.
_NOT_RELATIVE = re.compile(r"[\x00-\x20\x7f\\]|^/|^[^/?#]*:")


def local_href(link: str | None) -> str | None:
    """``link`` when it is a relative path (``feedback/x.html``), else None (shown as text, not followed)."""
    return link if link and not _NOT_RELATIVE.search(link) else None


@dataclass(frozen=True)
class DashboardTexts:
    language: str
    locale: Mapping[str, Any]
    labels: Mapping[str, str]
    languages: Mapping[str, str]
    channels: Mapping[str, str]

    def __call__(self, key: str, **values: Any) -> str:
        return self.labels[key].format(**values) if values else self.labels[key]


@lru_cache(maxsize=None)
def load_dashboard_texts(language: str) -> DashboardTexts:
    path = TEXTS_DIR / f"{language}.toml"
    if not path.exists():
        raise ConfigError(f"the dashboard has no texts in language {language!r}.",
                          hint=f"use one of {', '.join(LANGUAGES)}.")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    try:
        return DashboardTexts(data["language"], data["locale"], data["labels"], data["languages"], data["channels"])
    except KeyError as exc:
        raise ConfigError(f"dashboard texts {path} lack the section {exc}.",
                          hint="compare with texts/dashboard/en.toml.") from None


class _Format:
    """Numbers and dates as the dashboard's language writes them."""

    def __init__(self, texts: DashboardTexts) -> None:
        self.loc = texts.locale

    def count(self, n: int) -> str:
        return f"{n:,}".replace(",", self.loc["thousands"])

    def number(self, x: float, decimals: int = 1) -> str:
        whole, _, frac = f"{x:,.{decimals}f}".partition(".")
        text = whole.replace(",", self.loc["thousands"])
        return f"{text}{self.loc['decimal']}{frac}" if frac else text

    def percent(self, share: float) -> str:
        return f"{round(100 * share)}{self.loc['percent']}"

    def day(self, d: date) -> str:
        return self.loc["date"].format(day=d.day, month=self.loc["months"][d.month - 1], year=d.year)

    def chart_locale(self) -> charts.ChartLocale:
        number = {"decimal": self.loc["decimal"], "thousands": self.loc["thousands"], "grouping": [3],
                  "currency": ["", ""], "percent": self.loc["percent"]}
        time = {"dateTime": "%x %X", "date": "%Y-%m-%d", "time": "%H:%M:%S", "periods": ["AM", "PM"],
                "days": self.loc["days"], "shortDays": self.loc["short_days"],
                "months": self.loc["months"], "shortMonths": self.loc["short_months"]}
        return charts.ChartLocale(number, time, self.loc["day_format"], self.loc["month_format"])


# ---------------------------------------------------------------- what the template shows


@dataclass(frozen=True)
class Link:
    text: str
    href: str | None = None


@dataclass(frozen=True)
class Cell:
    text: str
    sort: str = ""                 # data-sort: a number for numeric columns; empty sorts last
    href: str | None = None
    note: str | None = None        # a small second line (n of a share, count of a coaching point)
    muted: bool = False            # "no complaints" and the like


@dataclass(frozen=True)
class Table:
    id: str
    caption: str
    headers: tuple[tuple[str, bool], ...]     # (label, numeric)
    rows: tuple[tuple[Cell, ...], ...]
    filter: bool = True


@dataclass(frozen=True)
class Card:
    label: str
    help: str
    value: str
    href: str
    n: str
    muted: bool
    chart: Markup | None


@dataclass(frozen=True)
class BehindList:
    id: str
    heading: str
    note: str
    links: tuple[tuple[Link, str], ...]       # (conversation, its score)


@dataclass(frozen=True)
class NeedRow:
    link: Link
    agent: str
    team: str
    score: str
    why: tuple[str, ...]


@dataclass(frozen=True)
class _CardSpec:
    key: str                                                   # label key, and key of Summary.behind
    measure: Callable[[Measures], tuple[float | None, int]]    # (value, the n it rests on)
    count: Callable[[Measures], int] | None                    # for a share: how many of n
    share: bool
    empty: str                                                 # label key when there is nothing to measure
    heading: str                                               # label key of the list behind it
    order: str                                                 # label key: how that list is ordered


_CARDS = (
    _CardSpec("mean_score", lambda m: (m.mean_score, m.scored), None, False, "no_value", "all_scored", "behind_need"),
    _CardSpec("in_order", lambda m: (m.in_order_share, m.complaints), lambda m: m.handled_in_order, True,
              "no_complaints", "complaints", "behind_in_order"),
    _CardSpec("de_escalated", lambda m: (m.de_escalated_share, m.hostile_starts), lambda m: m.de_escalated, True,
              "no_hostile", "hostile_starts", "behind_de_escalated"),
    _CardSpec("loyal", lambda m: (m.loyal_share, m.scored), lambda m: m.ends_loyal, True, "no_value",
              "loyal_endings", "behind_best"),
)


class _Page:
    """Builds the template's context from a Summary: labels, formatted numbers, anchors, charts."""

    def __init__(self, summary: Summary, texts: DashboardTexts, links: int, agent_links: int) -> None:
        self.s, self.t, self.f, self.links, self.agent_links = summary, texts, _Format(texts), links, agent_links
        self.finding_texts = load_texts(texts.language)
        self.chart_locale = self.f.chart_locale()
        self.behind: list[BehindList] = []

    # names
    def title_of(self, code: str) -> str:
        found = self.finding_texts.findings.get(code)
        return found.title if found else code.replace("_", " ")

    def name(self, key: str | None, kind: str) -> str:
        if key is None:
            return self.t("unknown")
        if kind == "language":
            return self.t.languages.get(key, key)
        if kind == "channel":
            return self.t.channels.get(key, key)
        return key

    # lists of conversations
    def _link(self, row: ConversationRow) -> Link:
        return Link(row.id, local_href(row.report))

    def add_behind(self, anchor: str, heading: str, sample: Sample, order: str) -> str:
        links = tuple((self._link(r), "" if r.score is None else str(r.score)) for r in sample.rows)
        note = self.t("listed", shown=self.f.count(len(links)), total=self.f.count(sample.total))
        if sample.total > len(links):
            note += f" · {self.t(order)}"
        self.behind.append(BehindList(anchor, heading, note, links))
        return "#" + anchor

    # the lead row
    def cards(self) -> list[Card]:
        m, gran = self.s.overall, self.s.granularity or "day"
        out = []
        for c in _CARDS:
            value, base = c.measure(m)
            href = self.add_behind(f"b-{c.key}", self.t(c.heading), self.s.behind[c.key], c.order)
            points = [charts.TrendPoint(p.start, *c.measure(p.measures)) for p in self.s.periods]
            svg = charts.trend_svg(points, share=c.share, granularity=gran, locale=self.chart_locale)
            text = self.t(c.empty) if value is None else self.f.percent(value) if c.share else self.f.number(value)
            n = (self.t("of", count=self.f.count(c.count(m)), n=self.f.count(base)) if c.count and base
                 else self.t("n", n=self.f.count(base)))
            out.append(Card(self.t(c.key), self.t(f"{c.key}_help"), text, href, n, value is None,
                            Markup(svg) if svg else None))
        return out

    # tables
    def _share_cell(self, share: float | None, count: int, base: int, empty: str) -> Cell:
        if share is None:
            return Cell(self.t(empty), "", muted=True)
        return Cell(self.f.percent(share), f"{share:.4f}", note=self.t("of", count=self.f.count(count),
                                                                        n=self.f.count(base)))

    def group_cells(self, g: Group, anchor: str) -> list[Cell]:
        m = g.measures
        top = m.top_issue
        return [
            Cell(self.f.count(m.n), str(m.n), href=anchor),
            Cell(self.f.number(m.mean_score), f"{m.mean_score:.3f}") if m.mean_score is not None
            else Cell(self.t("no_value"), "", muted=True),
            self._share_cell(m.in_order_share, m.handled_in_order, m.complaints, "no_complaints"),
            self._share_cell(m.de_escalated_share, m.de_escalated, m.hostile_starts, "no_hostile"),
            self._share_cell(m.loyal_share, m.ends_loyal, m.scored, "no_value"),
            Cell(self.title_of(top[0]), self.title_of(top[0]), note=self.t("of", count=self.f.count(top[1]),
                                                                             n=self.f.count(m.scored)))
            if top else Cell(self.t("no_value"), "", muted=True),
        ]

    def measure_headers(self) -> list[tuple[str, bool]]:
        return [(self.t("col_n"), True), (self.t("col_mean"), True), (self.t("col_in_order"), True),
                (self.t("col_de_escalated"), True), (self.t("col_loyal"), True), (self.t("col_top_issue"), False)]

    def group_table(self, table_id: str, caption: str, groups: Sequence[Group], kind: str, heading_key: str,
                    *, with_team: bool = False, filter_: bool = True) -> Table:
        headers = [(self.t(f"col_{kind}"), False)] + ([(self.t("col_team"), False)] if with_team else [])
        rows = []
        for i, g in enumerate(groups):
            label = self.name(g.key, kind)
            anchor = self.add_behind(f"b-{kind}-{i}", self.t(heading_key, name=label), g.sample, "behind_need")
            cells = [Cell(label, label.casefold(), muted=g.key is None)]
            if with_team and g.key is None:
                cells.append(Cell(self.t("no_value"), "", muted=True))
            elif with_team:
                team = self.name(g.team, "team")
                cells.append(Cell(team, team.casefold(), muted=g.team is None))
            rows.append(tuple(cells + self.group_cells(g, anchor)))
        return Table(table_id, caption, tuple(headers + self.measure_headers()), tuple(rows), filter_)

    # coaching points
    def issues_chart(self) -> Markup | None:
        scored = self.s.overall.scored
        bars = []
        for issue in self.s.issues:
            title = self.title_of(issue.code)
            href = self.add_behind(f"b-issue-{_anchor(issue.code)}", title, issue.sample, "behind_need")
            bars.append(charts.IssueBar(title, issue.count, issue.count / scored if scored else 0.0, issue.severe, href))
        svg = charts.issues_svg(bars, axis_title=self.t("coaching_axis"), severe_label=self.t("severe"),
                                mild_label=self.t("mild"), locale=self.chart_locale)
        return Markup(svg) if svg else None

    # trends
    def trends(self) -> dict[str, Any] | None:
        gran = self.s.granularity
        if gran is None:
            return None
        volume = charts.volume_svg([charts.TrendPoint(p.start, None, p.measures.n) for p in self.s.periods],
                                   granularity=gran, axis_title=self.t("conversations_axis"),
                                   locale=self.chart_locale)
        largest = [g.key for g in self.s.teams[:charts.TEAMS_IN_TREND]]
        series = {self.name(team, "team"): [charts.TrendPoint(p.start, p.measures.mean_score, p.measures.scored)
                                             for p in self.s.team_periods.get(team, ())]
                  for team in largest}
        team_svg = charts.team_trend_svg(series, granularity=self.s.team_granularity or gran, axis_title=self.t("score_axis"),
                                         locale=self.chart_locale) if len(self.s.teams) > 1 else None
        team_heading = (self.t("team_trend_largest", k=len(largest)) if len(self.s.teams) > len(largest)
                        else self.t("team_trend"))
        team_heading += " · " + self.t(f"by_{self.s.team_granularity or gran}")
        return {"volume_heading": self.t(f"per_{gran}"), "volume": Markup(volume) if volume else None,
                "team_heading": team_heading, "team": Markup(team_svg) if team_svg else None}

    # needs a person
    def needs(self) -> list[NeedRow]:
        out = []
        for r in self.s.needs_human.rows:
            why = [self.title_of(code) for code in dict.fromkeys(r.severe_issues)]
            if r.uncertain_turns:
                why.append(self.t("uncertain_one") if r.uncertain_turns == 1
                           else self.t("uncertain_many", n=r.uncertain_turns))
            out.append(NeedRow(self._link(r), self.name(r.agent_id, "agent"), self.name(r.team, "team"),
                               "" if r.score is None else str(r.score), tuple(why)))
        return out

    def context(self, title: str | None, generated_at: str) -> dict[str, Any]:
        s, t, f = self.s, self.t, self.f
        if s.first_day and s.last_day:
            period = f.day(s.first_day) if s.first_day == s.last_day else f"{f.day(s.first_day)} – {f.day(s.last_day)}"
        else:
            period = None
        ctx: dict[str, Any] = {
            "lang": t.language, "t": t, "title": title or t("title"), "period": period,
            "conversations": t("conversations", n=f.count(s.overall.n)),
            "scored": t("scored", n=f.count(s.overall.scored)) if s.overall.scored != s.overall.n else None,
            "generated": t("generated", when=generated_at),
            "empty": s.overall.n == 0, "unscored": s.overall.n > 0 and s.overall.scored == 0,
            "small_n": t("small_n", n=charts.SMALL_N),
        }
        if ctx["empty"] or ctx["unscored"]:
            return ctx | {"cards": [], "tables": [], "breakdowns": [], "issues": None, "trends": None, "needs": [],
                          "needs_total": 0, "behind": []}
        ctx["cards"] = self.cards()
        ctx["issues"] = self.issues_chart()
        ctx["needs"] = self.needs()
        ctx["needs_total"] = s.needs_human.total
        ctx["needs_note"] = (t("shown_of", shown=f.count(len(ctx["needs"])), total=f.count(s.needs_human.total))
                             if s.needs_human.total > len(ctx["needs"]) else None)
        ctx["tables"] = [self.group_table("teams", t("teams"), s.teams, "team", "team"),
                         self.group_table("agents", t("agents"), s.agents, "agent", "agent", with_team=True)]
        ctx["breakdowns"] = [
            self.group_table("languages", t("col_language"), s.languages, "language", "language", filter_=False),
            self.group_table("channels", t("col_channel"), s.channels, "channel", "channel", filter_=False)]
        ctx["trends"] = self.trends()
        ctx["behind"] = self.behind
        ctx["behind_help"] = t("behind_help", k=self.links, agent_k=self.agent_links)
        return ctx


def _anchor(code: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", code)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def render_dashboard(rows: Iterable[ConversationRow], *, language: str = "en", title: str | None = None,
                     generated_at: str | None = None, links: int = LINKS_PER_NUMBER,
                     agent_links: int = LINKS_PER_AGENT) -> str:
    """The dashboard page for ``rows`` (read once) in ``language`` (nb, nn, da, sv, en), as one HTML string.

    ``links``: how many conversations each number lists behind it (``agent_links`` for each agent's).
    ``report`` links must be relative paths (percent-encoded); any other is shown as text, not linked.
    """
    texts = load_dashboard_texts(language)
    page = _Page(summarise(rows, links=links, agent_links=agent_links), texts, links, agent_links)
    when = generated_at or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return _environment().get_template("dashboard.html.j2").render(page.context(title, when))


def write_dashboard(rows: Iterable[ConversationRow], out_dir: str | Path, **options: Any) -> Path:
    """Render the dashboard and write it as ``out_dir/report.html``; returns the path."""
    path = Path(out_dir) / DASHBOARD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_dashboard(rows, **options), encoding="utf-8")
    return path
