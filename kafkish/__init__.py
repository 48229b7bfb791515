"""kafkish's public face for applications: the test kit (``kafkish.testing``, the pytest plugin) and the
``kafkish`` command (Kafka's command-line tools, and ``kafkish broker`` to start a broker).

The broker's own code (the top-level ``broker``, ``protocol`` and ``storage`` packages of the repository)
is never imported into an application's process: an installed kafkish carries it under
``kafkish/_server/`` and starts it as a separate process with that folder first on its path
(``kafkish._launch``), so an application's own ``storage`` or ``broker`` package neither shadows ours nor
is shadowed by it.
"""

from __future__ import annotations

__version__ = "0.1.0"
