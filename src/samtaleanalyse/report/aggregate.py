"""The dashboard's numbers: one pass over the rows into a few measures per group and per period.

Everything is aggregated first, so 100,000 rows make the same small page as 100: each group keeps
counts and at most a handful of its rows (the ones that most need a look) to link to.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Iterable, Literal, Mapping

from .rows import ConversationRow

Granularity = Literal["day", "week", "month"]

LINKS_PER_NUMBER = 12     # conversations listed behind each measure, team, language, channel or coaching point
LINKS_PER_AGENT = 6       # ... and behind each agent (there are hundreds: the page would grow with them)
NEEDS_HUMAN_SHOWN = 50    # conversations listed in "needs a human"
DAILY_UP_TO_DAYS = 45     # a longer range is shown by week ...
WEEKLY_UP_TO_DAYS = 400   # ... and a range longer than this by month

NeedKey = tuple[int, int, int, str]


def need_key(row: ConversationRow) -> NeedKey:
    """Smallest first = most in need of a person: most severe findings, most uncertain turns, lowest score."""
    return (-len(row.severe_issues), -row.uncertain_turns, row.score if row.score is not None else 101, row.id)


@dataclass(frozen=True)
class Measures:
    """The lead measures of one set of conversations. Shares are None where their base is empty."""

    n: int = 0                  # conversations
    scored: int = 0             # ... with a score (coached); every measure below counts these only
    score_sum: int = 0
    complaints: int = 0
    handled_in_order: int = 0
    hostile_starts: int = 0
    de_escalated: int = 0
    ends_loyal: int = 0
    needs_review: int = 0       # uncertain turns or a severe finding
    issues: tuple[tuple[str, int], ...] = ()   # (code, conversations), most common first

    @property
    def mean_score(self) -> float | None:
        return self.score_sum / self.scored if self.scored else None

    @property
    def in_order_share(self) -> float | None:
        return self.handled_in_order / self.complaints if self.complaints else None

    @property
    def de_escalated_share(self) -> float | None:
        return self.de_escalated / self.hostile_starts if self.hostile_starts else None

    @property
    def loyal_share(self) -> float | None:
        return self.ends_loyal / self.scored if self.scored else None

    @property
    def top_issue(self) -> tuple[str, int] | None:
        return self.issues[0] if self.issues else None


class _Tally:
    __slots__ = ("n", "scored", "score_sum", "complaints", "in_order", "hostile", "de_escalated", "loyal",
                 "review", "issues")

    def __init__(self) -> None:
        self.n = self.scored = self.score_sum = self.complaints = self.in_order = 0
        self.hostile = self.de_escalated = self.loyal = self.review = 0
        self.issues: Counter[str] = Counter()

    def add(self, row: ConversationRow) -> None:
        self.n += 1
        if row.score is None:
            return
        self.scored += 1
        self.score_sum += row.score
        self.complaints += row.complaint
        self.in_order += row.handled_in_order
        self.hostile += row.hostile_start
        self.de_escalated += row.de_escalated
        self.loyal += row.ends_loyal
        self.review += bool(row.severe_issues or row.uncertain_turns)
        self.issues.update(row.issues)

    def merge(self, other: "_Tally") -> None:
        for name in self.__slots__[:-1]:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.issues.update(other.issues)

    def freeze(self) -> Measures:
        # Ties go to the code's name so the page does not change between runs.
        issues = tuple(sorted(self.issues.items(), key=lambda kv: (-kv[1], kv[0])))
        return Measures(self.n, self.scored, self.score_sum, self.complaints, self.in_order, self.hostile,
                        self.de_escalated, self.loyal, self.review, issues)


@dataclass(frozen=True)
class Sample:
    """The rows behind a number: ``total`` of them, the first ``len(rows)`` in the order that matters."""

    total: int = 0
    rows: tuple[ConversationRow, ...] = ()


class _Sampler:
    """The ``k`` rows with the smallest keys, without keeping every row."""

    __slots__ = ("k", "total", "items", "worst")

    def __init__(self, k: int) -> None:
        self.k, self.total, self.items, self.worst = k, 0, [], None

    def add(self, key: Any, row: ConversationRow) -> None:
        self.total += 1
        if self.worst is not None and key >= self.worst:
            return
        self.items.append((key, row))
        if len(self.items) >= 4 * self.k:
            self._trim()

    def _trim(self) -> None:
        self.items.sort(key=lambda kr: kr[0])
        del self.items[self.k:]
        if len(self.items) == self.k:
            self.worst = self.items[-1][0]

    def freeze(self) -> Sample:
        self._trim()
        return Sample(self.total, tuple(row for _, row in self.items))


@dataclass(frozen=True)
class Group:
    """The conversations of one team, agent, language or channel (key None: not given in the export)."""

    key: str | None
    measures: Measures
    sample: Sample             # most in need of a look first
    team: str | None = None    # for an agent: the team most of their conversations came from


@dataclass(frozen=True)
class IssueCount:
    code: str
    count: int                 # conversations with this coaching point
    severe: bool               # reported with severity "high"
    sample: Sample


@dataclass(frozen=True)
class Period:
    start: date                # the day, or the Monday of the week, or the first of the month
    measures: Measures


@dataclass(frozen=True)
class Summary:
    overall: Measures
    first_day: date | None
    last_day: date | None
    granularity: Granularity | None           # None: everything on one day, no trend
    periods: tuple[Period, ...]
    team_granularity: Granularity | None      # one step coarser: a team's day holds too few conversations
    team_periods: Mapping[str | None, tuple[Period, ...]]
    teams: tuple[Group, ...]                  # largest first
    agents: tuple[Group, ...]
    languages: tuple[Group, ...]
    channels: tuple[Group, ...]
    issues: tuple[IssueCount, ...]            # most common first
    behind: Mapping[str, Sample]              # the rows behind each lead measure: mean_score, in_order, de_escalated, loyal
    needs_human: Sample = field(default_factory=Sample)


class _GroupAcc:
    __slots__ = ("tally", "sampler", "teams")

    def __init__(self, k: int) -> None:
        self.tally, self.sampler, self.teams = _Tally(), _Sampler(k), Counter()

    def freeze(self, key: str | None) -> Group:
        # The agent without an id is many people: no one team is theirs.
        team = (min(self.teams.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))[0]
                if self.teams and key is not None else None)
        return Group(key, self.tally.freeze(), self.sampler.freeze(), team)


def _groups(accs: Mapping[str | None, _GroupAcc]) -> tuple[Group, ...]:
    return tuple(sorted((acc.freeze(key) for key, acc in accs.items()),
                        key=lambda g: (-g.measures.n, g.key is None, g.key or "")))


def granularity_for(first: date, last: date) -> Granularity | None:
    span = (last - first).days
    if span < 1:
        return None
    return "day" if span <= DAILY_UP_TO_DAYS else "week" if span <= WEEKLY_UP_TO_DAYS else "month"


def period_start(day: date, granularity: Granularity) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def coarser(granularity: Granularity | None) -> Granularity | None:
    return None if granularity is None else "week" if granularity == "day" else "month"


def _roll_up(days: Mapping[date, _Tally], granularity: Granularity | None) -> tuple[Period, ...]:
    if granularity is None:
        return ()
    buckets: dict[date, _Tally] = {}
    for day, tally in days.items():
        buckets.setdefault(period_start(day, granularity), _Tally()).merge(tally)
    return tuple(Period(start, buckets[start].freeze()) for start in sorted(buckets))


def summarise(rows: Iterable[ConversationRow], *, links: int = LINKS_PER_NUMBER, agent_links: int = LINKS_PER_AGENT,
              needs_human: int = NEEDS_HUMAN_SHOWN) -> Summary:
    """Every measure of the dashboard in one pass over ``rows`` (any iterable, read once)."""
    overall = _Tally()
    days: dict[date, _Tally] = {}
    team_days: dict[tuple[str | None, date], _Tally] = {}
    teams: dict[str | None, _GroupAcc] = {}
    agents: dict[str | None, _GroupAcc] = {}
    languages: dict[str | None, _GroupAcc] = {}
    channels: dict[str | None, _GroupAcc] = {}
    issues: dict[str, _Sampler] = {}
    severe: set[str] = set()
    behind = {name: _Sampler(links) for name in ("mean_score", "in_order", "de_escalated", "loyal")}
    human = _Sampler(needs_human)

    for row in rows:
        need = need_key(row)
        overall.add(row)
        day = row.day
        if day is not None:
            days.setdefault(day, _Tally()).add(row)
            team_days.setdefault((row.team, day), _Tally()).add(row)
        for accs, key, k in ((teams, row.team, links), (agents, row.agent_id, agent_links),
                             (languages, row.language, links), (channels, row.channel, links)):
            acc = accs.get(key)
            if acc is None:
                acc = accs[key] = _GroupAcc(k)
            acc.tally.add(row)
            acc.sampler.add(need, row)
        agents[row.agent_id].teams[row.team] += 1
        if row.score is None:
            continue
        behind["mean_score"].add(need, row)
        if row.complaint:
            behind["in_order"].add((row.handled_in_order, need), row)
        if row.hostile_start:
            behind["de_escalated"].add((row.de_escalated, need), row)
        if row.ends_loyal:
            behind["loyal"].add((-row.score, row.id), row)
        for code in set(row.issues):
            sampler = issues.get(code)
            if sampler is None:
                sampler = issues[code] = _Sampler(links)
            sampler.add(need, row)
        severe.update(row.severe_issues)
        if row.severe_issues or row.uncertain_turns:
            human.add(need, row)

    granularity = granularity_for(min(days), max(days)) if days else None
    by_team: dict[str | None, dict[date, _Tally]] = {}
    for (team, day), tally in team_days.items():
        by_team.setdefault(team, {})[day] = tally
    issue_counts = sorted((IssueCount(code, s.total, code in severe, s.freeze()) for code, s in issues.items()),
                          key=lambda i: (-i.count, i.code))
    return Summary(
        overall=overall.freeze(),
        first_day=min(days) if days else None, last_day=max(days) if days else None,
        granularity=granularity,
        periods=_roll_up(days, granularity),
        team_granularity=coarser(granularity),
        team_periods={team: _roll_up(d, coarser(granularity)) for team, d in by_team.items()},
        teams=_groups(teams), agents=_groups(agents), languages=_groups(languages), channels=_groups(channels),
        issues=tuple(issue_counts),
        behind={name: s.freeze() for name, s in behind.items()},
        needs_human=human.freeze(),
    )
