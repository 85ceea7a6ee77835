"""The field mapping for JSON exports no built-in reader knows (--json-map map.toml)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from samtaleanalyse.conversation import Conversation
from samtaleanalyse.errors import ConfigError, InputError
from samtaleanalyse.ingest.build import ReadOptions
from samtaleanalyse.ingest.platforms import JsonMapping, Place, mapping_platform
from samtaleanalyse.ingest.platforms.base import INTERNAL_MARK
from samtaleanalyse.ingest.platforms.mapping import parse_path, resolve

DATA = Path(__file__).parent / "data" / "platforms" / "mapping"


def _jsonl(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def _read(map_name: str, file: str) -> list[Conversation | InputError]:
    platform = mapping_platform(JsonMapping.from_file(DATA / map_name))
    doc = json.loads((DATA / file).read_text(encoding="utf-8"))
    assert platform.matches(doc)
    return list(platform.read(doc, Place(file), ReadOptions()))


EXPECTED = _jsonl("expected.jsonl")


@pytest.mark.parametrize("case", EXPECTED, ids=[f"{c['file']}:{c.get('id', c.get('error'))}" for c in EXPECTED])
def test_mapped_export_reads_as_expected(case: dict[str, Any]) -> None:
    outs = _read(case["map"], case["file"])
    if "error" in case:
        want = case["error"]
        errors = [o for o in outs if isinstance(o, InputError) and o.record == want["record"]]
        assert len(errors) == 1 and errors[0].code == want["code"], errors
        assert want.get("reason", "") in errors[0].message
        return
    (conv,) = [o for o in outs if isinstance(o, Conversation) and o.id == case["id"]]
    assert [t.role for t in conv.turns] == case["roles"]
    assert [t.text for t in conv.turns] == case["texts"]
    assert [t.timestamp for t in conv.turns] == case["timestamps"]
    assert (conv.language, conv.channel, conv.source) == (case["language"], case["channel"], case["source"])
    meta = conv.meta.to_dict()
    assert {k: meta.get(k) for k in case["meta"]} == case["meta"]


def test_every_item_of_a_mapped_export_is_accounted_for() -> None:
    for name, file in {(c["map"], c["file"]) for c in EXPECTED}:
        outs = _read(name, file)
        covered = [c for c in EXPECTED if c["file"] == file]
        assert len(outs) == len(covered), (file, outs)


PATHS = _jsonl("path_cases.jsonl")


@pytest.mark.parametrize("case", PATHS, ids=[c["path"] or "(empty)" for c in PATHS])
def test_path_syntax(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(ConfigError) as info:
            parse_path(case["path"])
        assert case["error"] in info.value.message and info.value.code == "E100"
        assert info.value.hint and "[*]" in info.value.hint
    else:
        assert resolve(case["doc"], parse_path(case["path"])) == case["values"]


BAD_MAPS = _jsonl("bad_maps.jsonl")


@pytest.mark.parametrize("case", BAD_MAPS, ids=[c["case"] for c in BAD_MAPS])
def test_bad_map_file_is_a_config_error_naming_the_file(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "map.toml"
    path.write_text(case["toml"], encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        JsonMapping.from_file(path)
    err = info.value
    assert err.code == "E100" and str(path) in err.message and case["error"] in err.message, err.message
    if "hint" in case:
        assert err.hint and case["hint"] in err.hint


def test_missing_map_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        JsonMapping.from_file(tmp_path / "nope.toml")


def test_mapping_built_in_code_is_checked_too() -> None:
    with pytest.raises(ConfigError, match="malformed"):
        JsonMapping(id="id", turns="a[", speaker="s", text="x")


RUNTIME = _jsonl("runtime_errors.jsonl")


@pytest.mark.parametrize("case", RUNTIME, ids=[c["case"] for c in RUNTIME])
def test_mapped_document_that_does_not_fit_gives_a_coded_error(case: dict[str, Any]) -> None:
    platform = mapping_platform(JsonMapping(**case["map"]))
    outs = list(platform.read(case["doc"], Place("doc.json"), ReadOptions()))
    assert len(outs) == 1 and isinstance(outs[0], InputError), outs
    assert outs[0].code == case["code"] and case["reason"] in outs[0].message, str(outs[0])
    assert INTERNAL_MARK not in outs[0].message


def test_a_mapping_does_not_match_a_document_it_cannot_read() -> None:
    platform = mapping_platform(JsonMapping.from_file(DATA / "crm_map.toml"))
    assert not platform.matches({"tickets": []})
    assert not platform.matches([1, 2])
