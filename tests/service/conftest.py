"""One scoring engine (the real model, loaded once) for every service test that runs the app in this process."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def service_engine():
    pytest.importorskip("fastapi")
    from samtaleanalyse.service import ServiceSettings
    from samtaleanalyse.service.engine import Engine

    engine = Engine.load(ServiceSettings(auth=False, workers=2))
    yield engine
    engine.close()
