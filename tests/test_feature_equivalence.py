"""The fast feature code against plain reference implementations written here from the definitions: a
lexicon term matches where its words follow each other (a trailing ``*`` lets the last word be any word
starting with it); character n-gram features are sublinear tf-idf of word-bounded n-grams, L2-normalised.
Texts: the corpus's turns and edge cases (terms at the very end of a text, repeated words, empty text)."""
from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

from samtaleanalyse.classify.lexical import CharNgramVectorizer, char_ngrams
from samtaleanalyse.classify.lexicon import DEFAULT_LEXICON, LexiconMatcher, tokens

ROOT = Path(__file__).resolve().parents[1]
EDGES = ["", "!!", "jeg", "jeg beklager", "jeg beklager veldig", "det er ikke", "ikke ikke ikke",
         "tusen takk for hjelpen", "takk takk", "sorry sorry for the trouble", "I am so sorry",
         "ni har inte", "beklager.", "undskyld for ventetiden"]


def _texts(limit: int = 1500) -> list[str]:
    out = list(EDGES)
    for path in sorted((ROOT / "data" / "annotated" / "conversations").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out += [t["text"] for t in json.loads(line)["turns"]]
    return out[:limit]


def _reference_matches(lexicon: dict[str, list[str]], toks: list[str]) -> Counter[tuple[int, int, str]]:
    found: Counter[tuple[int, int, str]] = Counter()
    for category, terms in lexicon.items():
        for term in dict.fromkeys(terms):
            prefix = term.endswith("*")
            words = tokens(term[:-1] if prefix else term)
            if not words:
                continue
            k = len(words)
            for i in range(len(toks) - k + 1):
                head_ok = all(toks[i + j] == words[j] for j in range(k - 1))
                last = toks[i + k - 1]
                if head_ok and (last.startswith(words[-1]) if prefix else last == words[-1]):
                    found[(i, i + k, category)] += 1
    return found


def test_lexicon_matches_equal_the_reference_on_corpus_turns_and_edges():
    matcher = LexiconMatcher(DEFAULT_LEXICON)
    for text in _texts(250):  # the reference tries every term at every place: slow, so a sample
        toks = tokens(text)
        got = Counter((i, j, matcher.categories[ci]) for i, j, ci in matcher._matches(toks))
        assert got == _reference_matches(matcher.lexicon, toks), text


def test_ngram_features_equal_the_reference():
    texts = _texts(600)
    vec = CharNgramVectorizer(min_df=2, max_features=5000).fit(texts)
    rows = vec.transform(texts)
    for r, text in enumerate(texts):
        counts = Counter(vec.vocabulary_[g] for g in char_ngrams(text, vec.n_min, vec.n_max) if g in vec.vocabulary_)
        idx = sorted(counts)
        want = np.array([(1.0 + math.log(counts[i])) * vec.idf_[i] for i in idx], dtype=np.float32)
        if len(want) and np.linalg.norm(want) > 0:
            want /= np.linalg.norm(want)
        lo, hi = rows.indptr[r], rows.indptr[r + 1]
        assert rows.indices[lo:hi].tolist() == idx, text
        np.testing.assert_allclose(rows.values[lo:hi], want, rtol=1e-6, atol=0, err_msg=text)
    # a second pass reads the remembered words: the same rows
    again = vec.transform(texts)
    assert np.array_equal(again.indices, rows.indices) and np.array_equal(again.values, rows.values)


def test_a_refitted_vectorizer_forgets_the_words_of_its_old_vocabulary():
    texts = _texts(300)
    vec = CharNgramVectorizer(min_df=2, max_features=3000).fit(texts[:150])
    vec.transform(texts)  # fills the word cache with the first vocabulary's indices
    vec.fit(texts[150:])
    fresh = CharNgramVectorizer(min_df=2, max_features=3000).fit(texts[150:])
    a, b = vec.transform(texts), fresh.transform(texts)
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.values, b.values)


# --- cue features: the overlap block's per-line sets and the emoji count ----------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from samtaleanalyse.classify import cues as cue_module  # noqa: E402

# the emoji blocks' first and last characters and their neighbours outside them
_EMOJI_EDGES = ["\u25ff", "\u2600", "\u27bf", "\u27c0", "\U0001f2ff", "\U0001f300", "\U0001faff", "\U0001fb00"]
_WORDISH = st.text(alphabet=st.sampled_from(list("abcåøæXYZ 09.,!?\n") + ["ß", "İ", "ﬁ", "😀", "☀", "\r"] + _EMOJI_EDGES),
                   max_size=60)


def _reference_overlap_sets(text: str) -> tuple[set[str], set[str], set[str]]:
    """From the definitions, on the whole text at once: stems (first five letters of each word of four or more
    letters that is not a number), 4-grams of the words joined by one space, numbers."""
    import re

    words = re.findall(r"\w+", text.casefold())
    joined = " ".join(words)
    return ({w[:5] for w in words if len(w) >= 4 and not w.isdigit()},
            {joined[i:i + 4] for i in range(len(joined) - 3)}, set(re.findall(r"\d+", text)))


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDISH, max_size=6))
def test_overlap_sets_from_the_lines_equal_those_of_the_whole_text(lines):
    text = "\n".join(lines)
    book = cue_module._FactBook()
    assert book.joined(text) == _reference_overlap_sets(text)
    assert book.joined(text) == _reference_overlap_sets(text)  # again, from the remembered lines


def test_overlap_sets_on_corpus_histories():
    texts = _texts(400)
    book = cue_module._FactBook()
    for k in range(0, len(texts) - 5, 7):
        history = "\n".join(texts[k:k + 5])
        assert book.joined(history) == _reference_overlap_sets(history)


@given(_WORDISH)
def test_the_emoji_count_is_the_number_of_characters_in_the_emoji_blocks(text):
    cues = cue_module.CueFeatures(cue_module.default_spec(["form"]))
    row = cues._form(type("I", (), {"text": text, "context": ""})())
    expected = sum(1 for c in text.strip() if 0x1F300 <= ord(c) <= 0x1FAFF or 0x2600 <= ord(c) <= 0x27BF)
    assert row[cues.names.index("form:emoji")] == math.log1p(expected)


def test_the_overlap_block_equals_the_whole_text_definitions_on_corpus_conversations():
    """``CueFeatures.transform``'s overlap columns against a plain computation of each turn on its own."""
    from samtaleanalyse.classify.features import turn_inputs
    from samtaleanalyse.corpus import parse_record

    records = [json.loads(line) for path in sorted((ROOT / "data" / "annotated" / "conversations").glob("*.jsonl"))[:2]
               for line in path.read_text(encoding="utf-8").splitlines() if line.strip()][:60]
    inputs = [i for pos, r in enumerate(records) for i in turn_inputs(parse_record(r, file="x", line=pos + 1).to_conversation())]
    cues = cue_module.CueFeatures(cue_module.default_spec(["overlap"]))
    got = cues.transform(inputs)
    for row, i in zip(got, inputs):
        t_words, t_grams, nums_t = _reference_overlap_sets(i.text)
        c_words, c_grams, _ = _reference_overlap_sets(i.context)
        h_words, h_grams, nums_h = _reference_overlap_sets(i.history or i.context)
        share = lambda a, b: len(a & b) / len(a) if a else 0.0  # noqa: E731
        cos = lambda a, b: len(a & b) / math.sqrt(len(a) * len(b)) if a and b else 0.0  # noqa: E731
        expected = [share(t_words, c_words), share(c_words, t_words), cos(t_grams, c_grams), share(t_words, h_words),
                    share(h_words, t_words), cos(t_grams, h_grams), float(bool(nums_t & nums_h)),
                    math.log1p(len(t_words - h_words))]
        assert np.allclose(row, np.array(expected, dtype=np.float32)), i.text
    assert sum(1 for i in inputs if "\n" in i.history) > 50  # histories of several turns were read
