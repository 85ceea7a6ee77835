"""Reports rebuilt from the results store alone: the dashboard over any period, team or agent, and each
conversation's page, without reading an export or running a model again."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..batch.outputs import DASHBOARD_FILE, FEEDBACK_DIR, OutputFolder, report_stem
from ..store import Filters, ResultsStore
from .conversation import render_conversation_html
from .dashboard import render_dashboard
from .rows import ConversationRow, row_from_record


@dataclass(frozen=True)
class RebuiltReports:
    conversations: int
    dashboard: Path
    folder: Path


def rebuild_reports(db: str | Path, out_dir: str | Path, filters: Filters = Filters(), *,
                    language: str | None = None, pages: bool = True) -> RebuiltReports:
    """Write ``out_dir/report.html`` and (``pages``) ``out_dir/feedback/<conversation>.html`` from the store.

    Each conversation counts once, with its newest result. Pages are written in each conversation's own
    feedback language unless ``language`` is given.
    """
    rows: list[ConversationRow] = []
    with ResultsStore(db, read_only=True) as store, OutputFolder(out_dir) as out:
        for record in store.latest(filters):
            link = None
            if pages and record.get("findings") is not None:
                link = f"{FEEDBACK_DIR}/{report_stem(str(record['id']))}.html"
                out.write_file(link, render_conversation_html(record, language=language))
            rows.append(row_from_record(record, report=link))
        chosen = language or _most_common([r.language for r in rows]) or "en"
        dashboard = out.write_file(DASHBOARD_FILE, render_dashboard(rows, language=chosen))
    return RebuiltReports(len(rows), dashboard, Path(out_dir))


def _most_common(values: list[str | None]) -> str | None:
    counts: dict[str, int] = {}
    for v in values:
        if v:
            counts[v] = counts.get(v, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None
