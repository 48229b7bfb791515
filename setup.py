"""Packaging beyond pyproject.toml: where the broker's code goes in an installed kafkish.

The repository keeps the broker's packages at the top (``broker``, ``protocol``, ``storage``: the
project's layers). An installed kafkish must not: those are common names of an application's own
packages, and two top-level ``storage`` packages in one virtualenv shadow each other. So the wheel holds
them under ``kafkish/_server/`` (never imported by an application; ``kafkish._launch`` starts the broker
with that folder first on its path), and the only top-level package installed is ``kafkish``.
"""

from setuptools import find_packages, setup

SERVER = ("broker", "protocol", "storage")

packages = find_packages(include=["kafkish", "kafkish.*"])
package_dir: dict[str, str] = {}
for top in SERVER:
    packages += [f"kafkish._server.{name}" for name in find_packages(include=[top, f"{top}.*"])]
    package_dir[f"kafkish._server.{top}"] = top

setup(packages=packages, package_dir=package_dir)
