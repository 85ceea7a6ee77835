"""One scoring engine (the real model) per test module that runs the app in this process.

Module scope, not session: the engine's memory is given back before later tests, some of which measure the
peak memory of subprocesses they fork from this one."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def service_engine():
    pytest.importorskip("fastapi")
    from samtaleanalyse.service import ServiceSettings
    from samtaleanalyse.service.engine import Engine

    engine = Engine.load(ServiceSettings(auth=False, workers=2))
    yield engine
    engine.close()
    del engine
    import gc

    gc.collect()
