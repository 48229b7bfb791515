"""``python -m kafkish.cli``: the ``kafkish`` command."""

import sys

from kafkish.cli import main

sys.exit(main())
