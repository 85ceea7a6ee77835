"""The dashboard's charts: Vega-Lite specifications built with Altair, rendered to inline SVG by vl-convert.

Every chart takes data that is already aggregated (a handful of points), so rendering costs the same
for 100 rows as for 100,000. The SVG needs no script and no network: it is pasted into the page.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Mapping, Sequence

import altair as alt
import vl_convert

SMALL_N = 10                  # a point resting on fewer conversations is drawn hollow
TEAMS_IN_TREND = 8            # lines in the per-team trend: the largest teams
INK = "#1f4e79"
SEVERE = "#b03a2e"
MILD = "#d9a441"
MUTED = "#6b7280"
# vl-convert lays labels out with the metrics of the font it finds; naming a wide font it has (DejaVu) and a wide
# one most browsers have (Verdana) keeps long labels inside the chart where the browser's font is narrower.
FONT = "DejaVu Sans, Verdana, Geneva, sans-serif"

# vl-convert resolves every link against its data loader's base URL (vega-datasets on GitHub); the
# dashboard's chart links are all in-page anchors, so the prefix is taken off again.
_LOADER_BASE = re.compile(r'(xlink:href|href)="https://vega\.github\.io/vega-datasets/(#[^"]*)"')
# Inline SVG in HTML needs no namespace declarations, and the page then names no http(s) address at all.
_XMLNS = re.compile(r'\s+xmlns(:xlink)?="[^"]*"')


@dataclass(frozen=True)
class ChartLocale:
    """Number and date formats for the axes, in d3's locale shapes (see the dashboard texts' [locale])."""

    number: Mapping[str, Any]
    time: Mapping[str, Any]
    day_format: str = "%-d %b"
    month_format: str = "%b %Y"


@dataclass(frozen=True)
class TrendPoint:
    start: date
    value: float | None       # None: nothing to measure in this period (no complaints, say)
    n: int                    # conversations the value rests on


def _config() -> dict[str, Any]:
    return {"background": None, "font": FONT, "view": {"stroke": None},
            "text": {"font": FONT}, "title": {"font": FONT},
            "axis": {"labelFont": FONT, "titleFont": FONT, "labelColor": "#374151", "titleColor": "#374151", "gridColor": "#e5e7eb",
                     "domainColor": "#9ca3af", "tickColor": "#9ca3af", "labelFontSize": 11, "titleFontSize": 11,
                     "titleFontWeight": "normal"},
            "legend": {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 11, "titleFontSize": 11, "titleFontWeight": "normal", "orient": "bottom",
                       "columns": 4, "labelLimit": 180}}


def to_svg(chart: alt.TopLevelMixin, locale: ChartLocale) -> str:
    """One chart as an inline SVG element: local links only, scaled to its container."""
    spec = chart.to_dict(validate=False)
    svg = vl_convert.vegalite_to_svg(spec, config=_config(), format_locale=dict(locale.number),
                                     time_format_locale=dict(locale.time))
    svg = _LOADER_BASE.sub(r'\1="\2"', svg)
    svg = _XMLNS.sub("", svg, count=2)
    return svg.replace("<svg ", '<svg role="img" class="chart" ', 1)


def _epoch_ms(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp() * 1000)


def _time_axis(granularity: str, starts: Sequence[date], locale: ChartLocale) -> alt.X:
    """Dates on a UTC scale, ticks on the periods' own starts (Vega's own would put two on one day of a short
    range, and start weeks on Sunday); at most four labels, the small charts have room for no more."""
    fmt = locale.month_format if granularity == "month" else locale.day_format
    step = -(-len(starts) // 4)
    return alt.X("start:T", title=None, scale=alt.Scale(type="utc"),
                 axis=alt.Axis(format=fmt, labelAngle=0, labelOverlap="greedy", grid=False,
                               values=[_epoch_ms(d) for d in list(starts)[::step]]))


def trend_svg(points: Sequence[TrendPoint], *, share: bool, granularity: str, locale: ChartLocale,
              width: int = 260, height: int = 100) -> str | None:
    """A small line of one measure per period; points on few conversations are hollow. None with < 2 points."""
    data = [{"start": p.start.isoformat(), "value": p.value, "n": p.n} for p in points if p.value is not None]
    if len(data) < 2:
        return None
    # Shares on their whole range; the mean score zoomed to its own (it rarely leaves 60-100).
    y = alt.Y("value:Q", title=None,
              scale=alt.Scale(domain=[0, 1]) if share else alt.Scale(zero=False, domainMax=100, nice=True),
              axis=alt.Axis(format=".0%" if share else "d", tickCount=3, grid=True))
    base = alt.Chart(alt.Data(values=data)).encode(x=_time_axis(granularity, [p.start for p in points], locale), y=y)
    line = base.mark_line(color=INK, strokeWidth=2)
    dots = base.mark_point(size=28, strokeWidth=1.5, filled=False, color=INK, opacity=1).encode(
        fill=alt.condition(f"datum.n >= {SMALL_N}", alt.value(INK), alt.value("white")))
    # "fit": every card's chart comes out the same size, whatever the width of its axis labels.
    chart = (line + dots).properties(width=width, height=height, autosize=alt.AutoSizeParams(type="fit", contains="padding"))
    return to_svg(chart, locale)


@dataclass(frozen=True)
class IssueBar:
    title: str
    count: int
    share: float              # of the scored conversations
    severe: bool
    href: str                 # in-page anchor of the conversations behind it


def issues_svg(bars: Sequence[IssueBar], *, axis_title: str, severe_label: str, mild_label: str,
               locale: ChartLocale, width: int = 560) -> str | None:
    """Horizontal bars of the most common coaching points, each bar a link to its conversations."""
    if not bars:
        return None
    data = [{"title": b.title, "count": b.count, "share": b.share, "href": b.href,
             "severity": severe_label if b.severe else mild_label} for b in bars]
    order = [b.title for b in bars]
    base = alt.Chart(alt.Data(values=data)).encode(
        y=alt.Y("title:N", sort=order, title=None, axis=alt.Axis(labelLimit=260, labelFontSize=12, ticks=False,
                                                                 domain=False)),
        x=alt.X("share:Q", title=axis_title, axis=alt.Axis(format=".0%", tickCount=4),
                scale=alt.Scale(domain=[0, max(0.05, min(1.0, max(b.share for b in bars) * 1.2))])))
    bars_layer = base.mark_bar(height={"band": 0.7}, cursor="pointer").encode(
        color=alt.Color("severity:N", scale=alt.Scale(domain=[severe_label, mild_label], range=[SEVERE, MILD]),
                        legend=alt.Legend(title=None, orient="bottom", direction="horizontal")),
        href="href:N")
    labels = base.mark_text(align="left", dx=4, fontSize=11, color="#111827").encode(
        text=alt.Text("count:Q", format=",d"), href="href:N")
    return to_svg((bars_layer + labels).properties(width=width, height=max(60, 26 * len(bars))), locale)


def volume_svg(points: Sequence[TrendPoint], *, granularity: str, axis_title: str, locale: ChartLocale,
               width: int = 520, height: int = 180) -> str | None:
    """Conversations per period as bars."""
    if len(points) < 2:
        return None
    data = [{"start": p.start.isoformat(), "n": p.n} for p in points]
    # A time axis has no bands: the bars get a width from the number of periods instead.
    bar = max(2.0, min(28.0, 0.6 * width / len(points)))
    chart = alt.Chart(alt.Data(values=data)).mark_bar(color=INK, opacity=0.8, size=bar).encode(
        x=_time_axis(granularity, [p.start for p in points], locale),
        y=alt.Y("n:Q", title=axis_title, axis=alt.Axis(tickCount=3, format=",d")))
    return to_svg(chart.properties(width=width, height=height), locale)


def team_trend_svg(series: Mapping[str, Sequence[TrendPoint]], *, granularity: str, axis_title: str,
                   locale: ChartLocale, width: int = 520, height: int = 180) -> str | None:
    """Mean score per period, one line per team (the caller passes the largest few)."""
    data = [{"team": team, "start": p.start.isoformat(), "value": p.value, "n": p.n}
            for team, points in series.items() for p in points if p.value is not None]
    if len({d["start"] for d in data}) < 2:
        return None
    base = alt.Chart(alt.Data(values=data)).encode(
        x=_time_axis(granularity, sorted({p.start for points in series.values() for p in points}), locale),
        y=alt.Y("value:Q", title=axis_title, scale=alt.Scale(zero=False), axis=alt.Axis(tickCount=4)),
        color=alt.Color("team:N", sort=list(series), title=None, scale=alt.Scale(scheme="tableau10")))
    dots = base.mark_point(size=22, filled=False, strokeWidth=1.5, opacity=1).encode(
        fill=alt.condition(f"datum.n >= {SMALL_N}", alt.Color("team:N", sort=list(series), legend=None),
                           alt.value("white")))
    chart = base.mark_line(strokeWidth=1.8) + dots
    return to_svg(chart.properties(width=width, height=height), locale)
