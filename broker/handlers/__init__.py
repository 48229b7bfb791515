"""One module per API. Each opens with a header: versions supported, behaviour choices, version notes.

Handlers validate and answer with Kafka's error codes; storage and controller exceptions are turned
into error codes here and only here. ``load()`` imports every module, registering its handler.
"""

from __future__ import annotations

import importlib
import pkgutil


def load() -> None:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
