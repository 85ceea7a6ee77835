"""IBM's Twitter customer-care threads (Apache-2.0), as conversations of the corpus format.

The texts stay in ``../shared/external/ibm_twitter_customer_care``; the repository keeps only labels keyed by
thread (``dialogHeader.sessionID``) and turn, and this module builds the labelled conversations from both at
training time. A thread is its ``dialogContent`` tweets in order (``client``/``client1`` are customers,
``agent`` the company) followed by the agent's closing reply (``agentURL.url_utterance``).

``dev.json`` may be labelled and trained on; ``test.json`` is for evaluation only: its labelled threads are
the ``heldout`` part, which no split function can put in train.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

def _shared() -> Path:
    """``../shared`` beside the checkout (``$SAMTALEANALYSE_SHARED`` wins); a worktree may sit deeper."""
    import os

    if os.environ.get("SAMTALEANALYSE_SHARED"):
        return Path(os.environ["SAMTALEANALYSE_SHARED"])
    for folder in Path(__file__).resolve().parents:
        if (folder / "shared" / "external").is_dir():
            return folder / "shared"
    return Path(__file__).resolve().parents[3].parent / "shared"


SOURCE = _shared() / "external" / "ibm_twitter_customer_care"
LICENCE = "Apache-2.0"
CITATION = ("IBM Twitter customer care document prediction data set "
            "(github.com/IBM/twitter-customer-care-document-prediction), dev.json and test.json")
# which file of SOURCE a labels file's threads come from, by the labels file's name: ibm_twitter_<source>.<pass>.jsonl
SOURCE_FILES = {"dev": "dev.json", "test": "test.json"}
ID_PREFIX = "en-tw-"  # a thread's corpus id is this and its session id
HELDOUT = "heldout"  # the part of every labelled test.json thread: evaluation only


def source_of(labels_path: str | Path) -> str:
    """``"test"`` for ``ibm_twitter_test.*`` label files (threads of test.json), else ``"dev"``."""
    return "test" if Path(labels_path).name.startswith("ibm_twitter_test.") else "dev"


@dataclass(frozen=True)
class Tweet:
    role: str        # "customer" or "agent"
    author: str
    text: str
    tweet_id: str
    time: str | None


@dataclass(frozen=True)
class Thread:
    session_id: str
    company: str
    turns: tuple[Tweet, ...]

    def to_corpus(self, labels: Mapping[int, Mapping[str, Any]] | None = None) -> dict[str, Any]:
        """The thread as a corpus conversation; ``labels`` by turn index (``attitude`` / ``behaviours``)."""
        turns = []
        for i, t in enumerate(self.turns):
            turn: dict[str, Any] = {"speaker": t.role, "text": t.text}
            if labels and i in labels:
                turn.update({k: v for k, v in labels[i].items() if k in ("attitude", "behaviours")})
            turns.append(turn)
        return {"id": f"{ID_PREFIX}{self.session_id}", "language": "en", "channel": "chat", "domain": "brand_support",
                "source": "ibm_twitter_customer_care", "turns": turns}


def load_threads(path: str | Path | None = None) -> list[Thread]:
    path = Path(path) if path is not None else SOURCE / "dev.json"
    return [_thread(x) for x in json.loads(path.read_text(encoding="utf-8"))]


def _thread(data: Mapping[str, Any]) -> Thread:
    header = data["dialogHeader"]
    turns = []
    seen = set()
    for t in data["dialogContent"]:
        author = t.get("agent") or t.get("client") or t.get("client1") or "?"
        role = "agent" if "agent" in t else "customer"
        turns.append(Tweet(role, author, t["message"], str(t["tweet_ID"]), t.get("datetime")))
        seen.add(str(t["tweet_ID"]))
    closing = data.get("agentURL") or {}
    if closing.get("url_utterance") and str(closing.get("tweet_ID")) not in seen:
        turns.append(Tweet("agent", header.get("company", "?"), closing["url_utterance"], str(closing["tweet_ID"]),
                           None))
    return Thread(str(header["sessionID"]), str(header.get("company", "")), tuple(turns))


def selection(threads: Iterable[Thread], n: int) -> list[Thread]:
    """A fixed choice of ``n`` threads: every thread of three turns or more (the course of a conversation is
    what coaching judges), then two-turn threads, each group ordered by a hash of its id (not by company)."""
    def key(t: Thread) -> tuple[bool, str]:
        return (len(t.turns) < 3, hashlib.sha256(t.session_id.encode()).hexdigest())
    return sorted(threads, key=key)[:n]


def render(thread: Thread) -> str:
    """The thread as an annotator reads it: one numbered turn per block."""
    lines = [f"## thread {thread.session_id} ({thread.company})"]
    for i, t in enumerate(thread.turns):
        lines.append(f"[{i}] {t.role.upper()} ({t.author}): {t.text}")
    return "\n".join(lines)


def read_labels(path: str | Path) -> dict[str, dict[int, dict[str, Any]]]:
    """Labels file -> {session_id: {turn index: {"attitude"|"behaviours": ...}}}."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            out[rec["session_id"]] = {int(t["turn"]): t for t in rec["turns"]}
    return out


def labelled_conversations(labels_path: str | Path, source: str | Path | None = None) -> list[dict[str, Any]]:
    """The labelled threads as corpus conversations, texts read from ``source`` (``dev.json``)."""
    labels = read_labels(labels_path)
    return [t.to_corpus(labels[t.session_id]) for t in load_threads(source) if t.session_id in labels]


SPLIT_SHARES = (("train", 60), ("dev", 20), ("test", 20))


def split_of(thread: Thread) -> str:
    """The thread's split (train 60 %, dev 20 %, test 20 %), fixed by a hash of its first tweet: threads that
    repeat the same tweets under other session ids (the data set has some) always land together."""
    key = thread.turns[0].tweet_id if thread.turns else thread.session_id
    bucket = int(hashlib.sha256(key.encode()).hexdigest(), 16) % 100
    edge = 0
    for name, share in SPLIT_SHARES:
        edge += share
        if bucket < edge:
            return name
    return SPLIT_SHARES[-1][0]
