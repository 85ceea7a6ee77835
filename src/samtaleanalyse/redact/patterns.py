"""One regular expression for a long list of phrases, built as a trie so that matching costs the length of
the text, not the length of the list times it (Python's ``re`` tries the branches of a plain alternation one
by one)."""
from __future__ import annotations

import re
from typing import Iterable


def phrase_pattern(phrases: Iterable[str]) -> str:
    """A pattern matching any of ``phrases`` (lower case), the longest where several fit; a space in a phrase
    matches any run of whitespace. Compile it with ``re.IGNORECASE``."""
    trie: dict[str, dict] = {}
    for phrase in phrases:
        node = trie
        for ch in " ".join(phrase.split()):
            node = node.setdefault(ch, {})
        node[""] = {}
    return _emit(trie)


def _emit(node: dict[str, dict]) -> str:
    branches = [(r"\s+" if ch == " " else re.escape(ch)) + _emit(child)
                for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if "" in node:  # a phrase ends here; a longer one may go on (greedy, so the longest wins)
        return f"(?:{body})?"
    return body
