"""Speaker labels to roles, in all five languages, case-insensitively; unknown labels are errors."""
from __future__ import annotations

import pytest

from samtaleanalyse import ConfigError, SpeakerMap

CUSTOMER = ["kunde", "Kund", "KUNDEN", "Customer", "caller", "Client", "innringer", "Opkalder", "uppringare"]
AGENT = ["agent", "Rådgiver", "rådgivare", "Medarbeider", "medarbejder", "Handläggare", "saksbehandler",
         "Sagsbehandler", "kundeservice", "Kundservice", "support", "Operator", "konsulent", "Representative"]


@pytest.mark.parametrize("label", CUSTOMER)
def test_customer_labels(label):
    assert SpeakerMap().role_of(label) == "customer"


@pytest.mark.parametrize("label", AGENT)
def test_agent_labels(label):
    assert SpeakerMap().role_of(label) == "agent"


@pytest.mark.parametrize("label,role", [("Agent Kari", "agent"), ("Kunde 2", "customer"), ("agent_7", "agent"),
                                        ("Ola (Kundeservice)", "agent"), ("Chatbot", "system"), ("kunde:", "customer")])
def test_labels_with_names_and_numbers(label, role):
    assert SpeakerMap().role_of(label) == role


def test_unknown_label_is_none_and_can_be_configured(tmp_path):
    assert SpeakerMap().role_of("Kari") is None
    assert SpeakerMap({"kari": "agent"}).role_of("KARI") == "agent"
    p = tmp_path / "s.toml"
    p.write_text('first_diarised_speaker = "agent"\n[speakers]\n"Kari Nordmann" = "agent"\n', encoding="utf-8")
    smap = SpeakerMap.from_file(p)
    assert smap.role_of("kari nordmann") == "agent" and smap.first_diarised_speaker == "agent"


def test_bad_role_in_configuration():
    with pytest.raises(ConfigError, match="not a role"):
        SpeakerMap({"Kari": "boss"})  # type: ignore[dict-item]
