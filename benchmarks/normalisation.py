"""What normalising turn text buys: macro-F1 of the current model with and without ``text.normalise``.

Two sets, both scored twice with the same model (only what the heads read differs):
- the annotated corpus, one split (``dev`` by default; ``--corpus-split test`` once, at the end);
- the hand-labelled real Twitter threads (IBM customer care ``dev.json``, labels in data/annotated/external,
  texts built from ../shared at run time), their ``train`` and ``dev`` parts only: the ``test`` part is never
  read here, so nothing is tuned on it.
"Without" is the pipeline as it was: whitespace collapsed, every tweet its own turn. "With" is the pipeline
now: split messages merged at ingest (build_conversation) and the heads reading normalised text. A merged
turn's prediction is scored against the gold label of each of its parts.

    PYTHONPATH=src:training SAMTALEANALYSE_EMBED_CACHE=... python benchmarks/normalisation.py \
        [--corpus-split dev] [--labels pass_a] [--out benchmarks/results/normalisation.md]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from samtaleanalyse.classify.loading import load_classifier
from samtaleanalyse.conversation import LANGUAGES, Conversation, Turn
from samtaleanalyse.corpus import parse_record
from samtaleanalyse.ingest.build import RawTurn, ReadOptions, build_conversation
from samtaleanalyse.labels import BEHAVIOURS
from samtaleanalyse_training.evaluate import _attitude_metrics, _behaviour_metrics
from samtaleanalyse_training.external import ibm_twitter

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "annotated" / "conversations"
EXTERNAL = ROOT / "data" / "annotated" / "external"

# One gold turn: (conversation, its turn index in the "without" conversation, role, attitude, behaviours).
Gold = tuple[int, int, str, str | None, tuple[str, ...]]


def corpus_set(split: str) -> tuple[list[Conversation], list[Gold], list[dict[str, str]]]:
    convs, gold, groups = [], [], []
    for f in sorted(CORPUS.glob("*.jsonl")):
        for k, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            c = parse_record(json.loads(line), file=str(f), line=k)
            if c.split != split or c.augmented:
                continue
            n = len(convs)
            convs.append(c.to_conversation())
            for lt in c.turns:
                if lt.turn.role in ("customer", "agent"):
                    gold.append((n, lt.turn.index, lt.turn.role, lt.attitude, tuple(lt.behaviours)))
                    groups.append({"language": lt.turn.language or c.language, "channel": c.channel})
    return convs, gold, groups


def twitter_set(labels: str) -> tuple[list[Conversation], list[Gold], list[dict[str, str]], dict[str, int]]:
    by_thread = ibm_twitter.read_labels(EXTERNAL / f"ibm_twitter_dev.{labels}.jsonl")
    convs, gold, groups, parts = [], [], [], {"train": 0, "dev": 0, "test (not read)": 0}
    for thread in ibm_twitter.load_threads():
        if thread.session_id not in by_thread:
            continue
        split = ibm_twitter.split_of(thread)
        if split == "test":
            parts["test (not read)"] += 1
            continue  # evaluation only, and not here: never tuned on
        parts[split] += 1
        n = len(convs)
        turns = tuple(Turn(index=i, role=t.role, text=" ".join(t.text.split()), speaker=t.role)  # type: ignore[arg-type]
                      for i, t in enumerate(thread.turns))
        convs.append(Conversation(id=f"en-tw-{thread.session_id}", turns=turns, language="en", channel="chat"))
        for i, lab in sorted(by_thread[thread.session_id].items()):
            role = thread.turns[i].role
            gold.append((n, i, role, lab.get("attitude"), tuple(lab.get("behaviours") or ())))
            groups.append({"language": "en", "channel": "chat", "split": split})
    return convs, gold, groups, parts


def ingested(conv: Conversation) -> tuple[Conversation, dict[int, int]]:
    """The conversation as ingest builds it now (split messages merged) and the old turn index -> new one."""
    raw = [RawTurn(speaker=t.speaker or t.role, text=t.text, role=t.role) for t in conv.turns]
    built = build_conversation(conv.id, raw, ReadOptions(), file="benchmark", language=conv.language,
                               channel=conv.channel)
    mapping, old = {}, 0
    for t in built.turns:
        for _ in range(t.parts):
            mapping[old] = t.index
            old += 1
    assert old == len(conv.turns), conv.id
    return built, mapping


def predict(clf: Any, convs: Sequence[Conversation], normalise: bool) -> list[dict[int, Any]]:
    clf.normalise = normalise
    out = []
    for start in range(0, len(convs), 64):
        for preds in clf.predict(convs[start:start + 64]):
            out.append({p.turn_index: p for p in preds})
    return out


def pairs(gold: Sequence[Gold], preds: Sequence[dict[int, Any]], maps: Sequence[dict[int, int]] | None,
          ) -> tuple[list[str | None], list[np.ndarray | None]]:
    """Per gold turn: the predicted attitude (customer turns) and behaviours row (agent turns), None where none."""
    att: list[str | None] = []
    beh: list[np.ndarray | None] = []
    for n, i, role, attitude, _ in gold:
        p = preds[n].get(maps[n][i] if maps is not None else i)
        att.append(p.labels[0] if p is not None and role == "customer" and attitude and p.task == "attitude" else None)
        beh.append(np.array([b in p.labels for b in BEHAVIOURS]) if p is not None and role == "agent"
                   and p.task == "behaviours" else None)
    return att, beh


def bootstrap_difference(gold: Sequence[Gold], before: tuple[list, list], after: tuple[list, list],
                         rounds: int = 1000, seed: int = 13) -> dict[str, tuple[float, float]]:
    """95 % interval of macro-F1 (with - without), turns resampled in pairs (both runs see the same sample)."""
    rng = np.random.default_rng(seed)
    out = {}
    a = [k for k, x in enumerate(before[0]) if x is not None and after[0][k] is not None]
    g_att = np.array([gold[k][3] for k in a])
    b0, b1 = np.array([before[0][k] for k in a]), np.array([after[0][k] for k in a])
    diffs = []
    for _ in range(rounds):
        s = rng.integers(0, len(a), len(a))
        diffs.append(_attitude_metrics(list(g_att[s]), list(b1[s]))["macro_f1"]
                     - _attitude_metrics(list(g_att[s]), list(b0[s]))["macro_f1"])
    out["attitude"] = (round(float(np.percentile(diffs, 2.5)), 3), round(float(np.percentile(diffs, 97.5)), 3))
    b = [k for k, x in enumerate(before[1]) if x is not None and after[1][k] is not None]
    Y = np.array([[l in gold[k][4] for l in BEHAVIOURS] for k in b], dtype=bool)
    P0, P1 = np.array([before[1][k] for k in b], dtype=bool), np.array([after[1][k] for k in b], dtype=bool)
    diffs = []
    for _ in range(rounds):
        s = rng.integers(0, len(b), len(b))
        diffs.append(_behaviour_metrics(Y[s], P1[s])["macro_f1"] - _behaviour_metrics(Y[s], P0[s])["macro_f1"])
    out["behaviours"] = (round(float(np.percentile(diffs, 2.5)), 3), round(float(np.percentile(diffs, 97.5)), 3))
    return out


def scores(gold: Sequence[Gold], groups: Sequence[dict[str, str]], preds: Sequence[dict[int, Any]],
           maps: Sequence[dict[int, int]] | None, breakdown: Sequence[str] = ()) -> dict[str, Any]:
    att_g, att_p, att_k, beh_g, beh_p, beh_k = [], [], [], [], [], []
    for (n, i, role, attitude, behaviours), grp in zip(gold, groups):
        index = maps[n][i] if maps is not None else i
        p = preds[n].get(index)
        if p is None:
            continue
        if role == "customer" and attitude and p.task == "attitude":
            att_g.append(attitude), att_p.append(p.labels[0]), att_k.append(grp)
        elif role == "agent" and p.task == "behaviours":
            beh_g.append([b in behaviours for b in BEHAVIOURS])
            beh_p.append([b in p.labels for b in BEHAVIOURS])
            beh_k.append(grp)
    Y, P = np.array(beh_g, dtype=bool).reshape(-1, len(BEHAVIOURS)), np.array(beh_p, dtype=bool).reshape(-1, len(BEHAVIOURS))
    out: dict[str, Any] = {"attitude": _attitude_metrics(att_g, att_p)["macro_f1"], "n_attitude": len(att_g),
                           "behaviours": _behaviour_metrics(Y, P)["macro_f1"], "n_behaviours": len(beh_g)}
    for key in breakdown:
        for value in sorted({g[key] for g in groups}, key=lambda v: (LANGUAGES + ("chat", "call", "email")).index(v)
                            if v in LANGUAGES + ("chat", "call", "email") else 99):
            a = [k for k, g in enumerate(att_k) if g[key] == value]
            b = np.array([g[key] == value for g in beh_k], dtype=bool)
            out[f"{key}={value}"] = (
                _attitude_metrics([att_g[k] for k in a], [att_p[k] for k in a])["macro_f1"] if a else None,
                _behaviour_metrics(Y[b], P[b])["macro_f1"] if b.any() else None)
    return out


def evaluate(clf: Any, convs: list[Conversation], gold: list[Gold], groups: list[dict[str, str]],
             breakdown: Sequence[str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    p0 = predict(clf, convs, normalise=False)
    without = scores(gold, groups, p0, None, breakdown)
    built = [ingested(c) for c in convs]
    merged = sum(1 for b, _ in built for t in b.turns if t.parts > 1)
    maps = [m for _, m in built]
    p1 = predict(clf, [b for b, _ in built], normalise=True)
    with_ = scores(gold, groups, p1, maps, breakdown)
    clf.normalise = True
    changed = pairs(gold, p0, None), pairs(gold, p1, maps)
    flips = {"attitude": sum(1 for x, y in zip(changed[0][0], changed[1][0]) if x is not None and x != y),
             "behaviours": sum(1 for x, y in zip(changed[0][1], changed[1][1]) if x is not None and y is not None
                               and bool((x != y).any()))}
    return {"without": without, "with": with_, "merged_turns": merged, "changed_turns": flips,
            "interval": bootstrap_difference(gold, *changed), "seconds": round(time.perf_counter() - t0, 1)}


def ablation(clf: Any, convs: list[Conversation], gold: list[Gold], groups: list[dict[str, str]]) -> dict[str, Any]:
    """Macro-F1 with normalisation but one step left out (which steps carry the change)."""
    import samtaleanalyse.text.normalise as normalise

    built = [ingested(c) for c in convs]
    maps = [m for _, m in built]
    apply = normalise._Draft.apply
    out: dict[str, Any] = {}
    try:
        for step in ("html_entities", "links", "email_addresses", "reply_handles", "handles", "hashtags",
                     "signature_tag", "part_marker"):
            def skipping(self, name, edits, step=step):  # type: ignore[no-untyped-def]
                return None if name == step else apply(self, name, edits)

            normalise._Draft.apply = skipping  # type: ignore[method-assign]
            r = scores(gold, groups, predict(clf, [b for b, _ in built], normalise=True), maps)
            out[step] = (r["attitude"], r["behaviours"])
    finally:
        normalise._Draft.apply = apply  # type: ignore[method-assign]
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = ["# Normalisation: macro-F1 with and without normalised turn text", "",
             f"Model `{report['model']}`; produced by `{report['command']}`.", "",
             "Without: whitespace collapsed, each message its own turn (the pipeline before normalisation). With: "
             "split messages merged at ingest and the heads reading `normalise_turn` text (entities decoded, links "
             "/ addresses / handles as placeholders, hashtags as words, sign-off tags and part markers dropped; in "
             "e-mail also quoted history, disclaimers and signatures). Same model, same turns, same gold labels.", ""]
    for name, r in report["sets"].items():
        w, n = r["without"], r["with"]
        lines += [f"## {name}", "", f"{r.get('note', '')}".strip(), "",
                  "| | attitude macro-F1 | behaviours macro-F1 | customer turns | agent turns |",
                  "|---|---|---|---|---|",
                  f"| without | {w['attitude']:.3f} | {w['behaviours']:.3f} | {w['n_attitude']} | {w['n_behaviours']} |",
                  f"| with | {n['attitude']:.3f} | {n['behaviours']:.3f} | {n['n_attitude']} | {n['n_behaviours']} |", ""]
        keys = [k for k in w if "=" in k]
        if keys:
            lines += ["| group | attitude without | attitude with | behaviours without | behaviours with |",
                      "|---|---|---|---|---|"]
            fmt = lambda x: "–" if x is None else f"{x:.3f}"  # noqa: E731
            for k in keys:
                lines.append(f"| {k} | {fmt(w[k][0])} | {fmt(n[k][0])} | {fmt(w[k][1])} | {fmt(n[k][1])} |")
            lines.append("")
        ci = r["interval"]
        lines += [f"With minus without, 95 % paired bootstrap interval over turns (1000 rounds): attitude "
                  f"[{ci['attitude'][0]:+.3f}, {ci['attitude'][1]:+.3f}], behaviours "
                  f"[{ci['behaviours'][0]:+.3f}, {ci['behaviours'][1]:+.3f}]. Turns whose prediction changed: "
                  f"{r['changed_turns']['attitude']} customer, {r['changed_turns']['behaviours']} agent. "
                  f"Split messages merged: {r['merged_turns']}. Time for both runs: {r['seconds']} s (a shared, "
                  "busy 2-core machine; encodings partly cached).", ""]
        if r.get("ablation"):
            lines += ["| with, but without step | attitude | behaviours |", "|---|---|---|"]
            lines += [f"| {step} | {a:.3f} | {b:.3f} |" for step, (a, b) in r["ablation"].items()]
            lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus-split", nargs="+", default=["dev"], choices=("dev", "test"),
                    help="corpus splits to score (test: once, at the end)")
    ap.add_argument("--labels", nargs="+", default=["pass_a"], choices=("pass_a", "pass_b"),
                    help="which labelling pass of the Twitter threads is gold")
    ap.add_argument("--model", default=None)
    ap.add_argument("--skip-twitter", action="store_true")
    ap.add_argument("--ablate", action="store_true", help="on the Twitter threads: leave out one step at a time")
    ap.add_argument("--out", default=None, help="write the Markdown here (and the JSON beside it)")
    args = ap.parse_args(argv)
    clf = load_classifier(args.model)
    report: dict[str, Any] = {"model": clf.model.name, "command": "python benchmarks/normalisation.py "
                              + " ".join(argv if argv is not None else sys.argv[1:]), "sets": {}}
    for split in args.corpus_split:
        convs, gold, groups = corpus_set(split)
        r = evaluate(clf, convs, gold, groups, ("language", "channel"))
        r["note"] = f"Annotated corpus, {split} split: {len(convs)} conversations."
        report["sets"][f"corpus {split}"] = r
    for labels in () if args.skip_twitter else args.labels:
        tconvs, tgold, tgroups, parts = twitter_set(labels)
        r = evaluate(clf, tconvs, tgold, tgroups, ("split",))
        if args.ablate:
            r["ablation"] = ablation(clf, tconvs, tgold, tgroups)
        r["note"] = (f"Real Twitter threads (IBM customer care dev.json, labels `{labels}`), train and dev parts: "
                     f"{parts['train']} + {parts['dev']} threads ({parts['test (not read)']} test threads not read).")
        report["sets"][f"twitter train+dev ({labels})"] = r
    text = markdown(report)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        Path(args.out).with_suffix(".json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
