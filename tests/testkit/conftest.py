"""Tests of the test kit: the pytest plugin run by pytest's own ``pytester`` on sample test modules."""

from __future__ import annotations

pytest_plugins = ["pytester"]
