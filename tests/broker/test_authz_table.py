"""Every authorization a handler asks for is in ``_authz.RULES`` under its own API (so the table is the
one place that says what each API needs), and every API that checks something is in the table."""

from __future__ import annotations

import inspect
import re

from broker import handlers
from broker.dispatcher import HANDLERS
from broker.handlers._authz import RULES
from broker.security.acl import ResourceType

ASKS = re.compile(r"_authz\.allowed\(ctx, RT\.([A-Z_]+)")


def test_each_handlers_checks_are_in_its_apis_rules() -> None:
    handlers.load()
    checked = 0
    for registration in HANDLERS.values():
        source = inspect.getsource(inspect.getmodule(registration.handler))  # type: ignore[arg-type]
        for kind in ASKS.findall(source):
            assert ResourceType[kind] in RULES.get(registration.api.name, {}), (registration.api.name, kind)
            checked += 1
    assert checked > 30
    names = {reg.api.name for reg in HANDLERS.values()}
    assert set(RULES) <= names, set(RULES) - names
