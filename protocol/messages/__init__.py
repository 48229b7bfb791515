"""One module per Kafka API, each describing its request and response once for all versions.

Adding an API: write ``protocol/messages/<name>.py`` with ``@struct`` classes for the request, the
response and their nested structs (fields in Kafka's order, named as Kafka's field names in
snake_case, with ``V(...)`` for versions, nullability and tags), end it with ``api(key, name, ...)``,
and ``load_all`` finds it by itself. Adding a version: widen ``versions=`` in the ``api(...)``
call and give new fields their ``V("N+")``. ``make spec-check`` compares everything with Kafka's own
JSON specs; ``tests/protocol/test_roundtrip.py`` round-trips every version.
"""

from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    """Import every message module, registering each API in ``protocol.api.APIS``."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
