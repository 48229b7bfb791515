"""Opening a partition directory after a clean or unclean stop: ``loader.LogLoader``."""
