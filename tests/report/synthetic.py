"""Synthetic dashboard rows for tests and the size/speed benchmark: several teams, agents, days, languages, channels.

Seeded, so a run is repeatable; the rows are internally consistent (a de-escalation needs a hostile start,
a severe issue is an issue, complaints handled in order are complaints).
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from typing import Iterator

from samtaleanalyse.conversation import LANGUAGES
from samtaleanalyse.report.rows import ConversationRow

TEAMS = ("Møbler Øst", "Energi Syd", "Försäkring", "Rejser", "Broadband UK", "Bank <Nord> & Co")
ISSUES = (("missing_apology", True), ("blame_shifting", True), ("solution_before_feelings", True),
          ("no_investigation", False), ("no_follow_up", False), ("no_paraphrase", False), ("not_de_escalated", False))
CHANNELS = ("chat", "call", "email")


def synthetic_rows(n: int, *, days: int = 20, teams: int = len(TEAMS), agents_per_team: int = 5, seed: int = 7,
                   start: date = date(2026, 11, 2)) -> Iterator[ConversationRow]:
    rng = random.Random(seed)
    scored_at = datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc).isoformat()
    names = [TEAMS[i % len(TEAMS)] + (f" {i // len(TEAMS) + 1}" if i >= len(TEAMS) else "") for i in range(teams)]
    for i in range(n):
        t = rng.randrange(teams)
        team = names[t] if rng.random() > 0.03 else None
        agent = f"A{t:02d}{rng.randrange(agents_per_team):02d}" if rng.random() > 0.03 else None
        # Teams differ in quality so that sorting has something to show.
        skill = 0.35 + 0.1 * (t % 6)
        complaint = rng.random() < 0.6
        hostile = complaint and rng.random() < 0.45
        issues = tuple(code for code, _ in ISSUES if complaint and rng.random() > skill + 0.15) if complaint else ()
        severe = tuple(code for code, high in ISSUES if high and code in issues)
        score = max(0, min(100, 100 - 15 * len(severe) - 7 * (len(issues) - len(severe)) + rng.randint(-3, 3)))
        day = start + timedelta(days=rng.randrange(days))
        started = f"{day.isoformat()}T{rng.randrange(8, 18):02d}:{rng.randrange(60):02d}:00Z" if rng.random() > 0.1 else None
        yield ConversationRow(
            id=f"conv-{i:06d}", report=f"feedback/conv-{i:06d}.html", agent_id=agent, team=team,
            queue=None, channel=rng.choice(CHANNELS), language=rng.choice(LANGUAGES),
            started_at=started, scored_at=scored_at if started else f"{day.isoformat()}T23:00:00+00:00",
            score=score, complaint=complaint, hostile_start=hostile,
            de_escalated=hostile and rng.random() < skill, handled_in_order=complaint and rng.random() < skill,
            ends_loyal=rng.random() < 0.2 + skill / 3, uncertain_turns=rng.choice((0, 0, 0, 0, 0, 0, 1, 2)),
            issues=issues, severe_issues=severe, strengths=(),
        )
