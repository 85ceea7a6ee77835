"""Encodings of real Nordic exports: æøåäö must survive."""
from __future__ import annotations

import codecs

import pytest

from samtaleanalyse import read_conversations

TEXT = "samtale_id;avsender;melding\n1;Kunde;Hvorfor får jeg æøå-feil? Blåbærsyltetøy!\n1;Rådgiver;Beklager, vi ser på det. Förlåt, undskyld.\n"


@pytest.mark.parametrize("encoding,bom", [
    ("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", codecs.BOM_UTF16_BE), ("cp1252", b""), ("latin-1", b""),
])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_nordic_letters_survive(tmp_path, encoding, bom, newline):
    p = tmp_path / "export.csv"
    p.write_bytes(bom + TEXT.replace("\n", newline).encode(encoding))
    res = read_conversations(p)
    assert res.errors == ()
    (conv,) = res.conversations
    assert conv.turns[0].text == "Hvorfor får jeg æøå-feil? Blåbærsyltetøy!"
    assert conv.turns[1].speaker == "Rådgiver" and conv.turns[1].role == "agent"
    assert "Förlåt" in conv.turns[1].text


def test_decomposed_unicode_is_normalised(tmp_path):
    p = tmp_path / "mac.txt"
    p.write_bytes("Kunde: Pa\u030a fredag\nAgent: Ja\u030a\n".encode("utf-8"))
    (conv,) = read_conversations(p).conversations
    assert conv.turns[0].text == "På fredag"


def test_bom_that_lies_is_an_error(tmp_path):
    p = tmp_path / "x.txt"
    p.write_bytes(codecs.BOM_UTF8 + b"Kunde: hei \xff\xfe\n")
    (err,) = read_conversations(p).errors
    assert err.code == "E313"
