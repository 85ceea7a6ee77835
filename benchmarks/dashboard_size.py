"""How big and how slow is the dashboard for a month of a large contact centre? Synthetic rows, streamed.

The rows come from the tests' generator (tests/report/synthetic.py: teams, agents, languages, channels,
days); they are generated lazily, so the memory figure is the aggregation's, not the rows'.

    PYTHONPATH=src:. .venv/bin/python benchmarks/dashboard_size.py [--rows 100000] [--days 30] [--teams 12]
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samtaleanalyse.report.aggregate import summarise  # noqa: E402
from samtaleanalyse.report.dashboard import render_dashboard  # noqa: E402
from tests.report.synthetic import synthetic_rows  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--teams", type=int, default=12)
    parser.add_argument("--agents-per-team", type=int, default=25)
    parser.add_argument("--out", type=Path, help="write the page here")
    args = parser.parse_args()
    shape = dict(days=args.days, teams=args.teams, agents_per_team=args.agents_per_team)

    render_dashboard([])  # templates and texts loaded once, outside the timing
    start = time.perf_counter()
    for _ in synthetic_rows(args.rows, **shape):
        pass
    generate = time.perf_counter() - start
    start = time.perf_counter()
    summarise(synthetic_rows(args.rows, **shape))
    aggregate = time.perf_counter() - start - generate
    start = time.perf_counter()
    html = render_dashboard(synthetic_rows(args.rows, **shape), generated_at="benchmark")
    total = time.perf_counter() - start - generate
    if args.out:
        args.out.write_text(html, encoding="utf-8")
    print(f"rows {args.rows:,} over {args.days} days, {args.teams} teams, {args.teams * args.agents_per_team} agents")
    print(f"page {len(html.encode('utf-8')) / 1024:.0f} KiB, {html.count('<svg')} charts")
    print(f"render {total:.2f} s (aggregation {aggregate:.2f} s, charts and page {total - aggregate:.2f} s), "
          f"not counting {generate:.2f} s to make the rows")
    print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (whole process)")


if __name__ == "__main__":
    main()
