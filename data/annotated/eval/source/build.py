"""Build the evaluation JSONL files from the parallel sources in this folder.

The parallel and contrast sets are written once per conversation with the five languages side by
side (`parallel.txt`, `contrast.txt`, `email.txt`), so that a label fixed in one language is fixed
in all five. This script turns them into the corpus schema (one file per language) and fills
`findings` from the gold labels with the coaching rules, as `samtaleanalyse data findings` does.

Run from the repository root:
    PYTHONPATH=src python data/annotated/eval/source/build.py

Source format (one block per conversation):
    === <id> | <domain> | <channel> [| key=value ...]
    S                     a system turn; then one line per language: "<lang> <text>"
    C <attitude>          a customer turn
    A <b1,b2|->           an agent turn ("-" for no behaviour)
Contrast blocks mark the one turn that differs with "C a_label / b_label" or "A a_labels / b_labels",
and give each language line as "<lang> <text a> || <text b>".
Lines starting with "#" are comments. A literal "\\n" inside a text becomes a line break (e-mail).
"""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

from samtaleanalyse.corpus import parse_record
from samtaleanalyse.corpus.findings import gold_findings

LANGS = ("nb", "nn", "da", "sv", "en")
HERE = Path(__file__).resolve().parent
EVAL = HERE.parent


def _labels(spec: str) -> list[str]:
    spec = spec.strip()
    return [] if spec in ("-", "") else [s.strip() for s in spec.split(",")]


def parse_blocks(path: Path) -> list[dict]:
    """Blocks of {"head": [...], "turns": [{"kind", "spec", "texts": {lang: text}}]}."""
    blocks: list[dict] = []
    turn: dict | None = None
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("=== "):
            blocks.append({"head": [p.strip() for p in line[4:].split("|")], "turns": [], "line": n})
            turn = None
        elif line[:2] in ("S", "C ", "A ") or line == "S":
            kind = line[0]
            turn = {"kind": kind, "spec": line[2:].strip(), "texts": {}, "line": n}
            blocks[-1]["turns"].append(turn)
        else:
            lang, _, text = line.partition(" ")
            if lang not in LANGS or turn is None:
                sys.exit(f"{path.name}:{n}: expected '<lang> <text>', got {line[:40]!r}")
            if lang in turn["texts"]:
                sys.exit(f"{path.name}:{n}: {lang} given twice for this turn")
            turn["texts"][lang] = text.strip().replace("\\n", "\n")
    for b in blocks:
        for t in b["turns"]:
            missing = [lang for lang in LANGS if lang not in t["texts"]]
            if missing:
                sys.exit(f"{path.name}:{t['line']}: turn lacks {', '.join(missing)}")
    return blocks


def _turn(kind: str, spec: str, text: str) -> dict:
    if kind == "S":
        return {"speaker": "system", "text": text}
    if kind == "C":
        return {"speaker": "customer", "text": text, "attitude": spec.strip()}
    return {"speaker": "agent", "text": text, "behaviours": _labels(spec)}


def _with_findings(record: dict) -> dict:
    conv = parse_record(record, file="", line=0)
    record["findings"] = list(gold_findings(replace(conv, findings=())))
    return record


def _head(block: dict) -> tuple[str, str, str, dict[str, str]]:
    cid, domain, channel, *rest = block["head"]
    extra = dict(kv.split("=", 1) for kv in rest)
    return cid, domain, channel, extra


def build_plain(src: Path, eval_set: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {lang: [] for lang in LANGS}
    for b in parse_blocks(src):
        cid, domain, channel, extra = _head(b)
        for lang in LANGS:
            rec = {"id": f"{cid}-{lang}", "language": lang, "channel": channel, "domain": domain,
                   "eval_set": eval_set, "parallel_id": cid, **extra,
                   "turns": [_turn(t["kind"], t["spec"], t["texts"][lang]) for t in b["turns"]]}
            out[lang].append(_with_findings(rec))
    return out


def build_contrast(src: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {lang: [] for lang in LANGS}
    for b in parse_blocks(src):
        cid, domain, channel, extra = _head(b)
        ctype = extra.pop("type")
        varying = [i for i, t in enumerate(b["turns"]) if "||" in t["texts"]["en"]]
        if len(varying) != 1:
            sys.exit(f"contrast {cid}: exactly one turn must differ (found {len(varying)})")
        vi = varying[0]
        vt = b["turns"][vi]
        spec_a, _, spec_b = vt["spec"].partition("/")
        if vt["kind"] == "C":
            differs = ["attitude"] if spec_a.strip() != spec_b.strip() else []
        else:
            differs = sorted(set(_labels(spec_a)) ^ set(_labels(spec_b)))
        for lang in LANGS:
            text_a, _, text_b = (s.strip() for s in vt["texts"][lang].partition("||"))
            for variant, spec, text in (("a", spec_a, text_a), ("b", spec_b, text_b)):
                turns = [_turn(t["kind"], t["spec"], t["texts"][lang]) for t in b["turns"]]
                turns[vi] = _turn(vt["kind"], spec, text)
                pair = f"{cid}-{lang}"
                rec = {"id": f"{pair}{variant}", "language": lang, "channel": channel, "domain": domain,
                       "eval_set": "contrast",
                       "contrast": {"pair": pair, "variant": variant, "partner": f"{pair}{'b' if variant == 'a' else 'a'}",
                                    "type": ctype, "turn": vi, "differs": differs, **extra},
                       "turns": turns}
                out[lang].append(_with_findings(rec))
            rec_a, rec_b = out[lang][-2], out[lang][-1]
            # which conversation-level findings the one changed turn moves (for reading results; not a label)
            moved = sorted(set(rec_a["findings"]) ^ set(rec_b["findings"]))
            rec_a["contrast"]["findings_differ"] = rec_b["contrast"]["findings_differ"] = moved
    return out


def write(folder: Path, files: dict[str, list[dict]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for lang, recs in files.items():
        if recs:
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
            (folder / f"{lang}.jsonl").write_text(text, encoding="utf-8")
            print(f"{folder.relative_to(EVAL)}/{lang}.jsonl: {len(recs)} conversations")


if __name__ == "__main__":
    if (HERE / "parallel.txt").exists():
        write(EVAL / "parallel", build_plain(HERE / "parallel.txt", "parallel"))
    if (HERE / "contrast.txt").exists():
        write(EVAL / "contrast", build_contrast(HERE / "contrast.txt"))
    if (HERE / "email.txt").exists():
        write(EVAL / "email", build_plain(HERE / "email.txt", "email"))
