"""Writing the corpus back in place, file by file, keeping its order."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Sequence

from .model import LabelledConversation


def write_corpus(convs: Sequence[LabelledConversation]) -> list[Path]:
    """Rewrite each conversation's own file (``c.file``) with the conversations given for it."""
    by_file: dict[str, list[LabelledConversation]] = defaultdict(list)
    for c in convs:
        by_file[c.file].append(c)
    written = []
    for file, items in by_file.items():
        path = Path(file)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for c in sorted(items, key=lambda c: c.line):
                f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        tmp.replace(path)
        written.append(path)
    return written
