"""``python -m kafkish``: the ``kafkish`` command (Kafka's tools as subcommands, ``kafkish broker``)."""

import sys

from kafkish.cli import main

sys.exit(main())
