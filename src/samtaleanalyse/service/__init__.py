"""The HTTP service and the web page over the scoring pipeline (``samtaleanalyse serve``).

One process loads the turn model once and scores requests in a pool of threads, so a slow request never
holds up the event loop. The modules: ``settings`` (what an operator sets), ``auth`` (bearer tokens),
``reading`` (a request body to conversations, bounded), ``engine`` (the model and the scorers), ``schemas``
(the OpenAPI document's shapes), ``middleware`` (request ids, size limit, access log), ``metrics``
(Prometheus), ``page`` (the web page) and ``app`` (the FastAPI application that joins them).
Needs the ``[service]`` extra (FastAPI, uvicorn, prometheus-client, python-multipart).
"""
from .app import create_app
from .settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]
