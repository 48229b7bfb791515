"""The log cleaner (compaction): ``cleaner.LogCleaner`` runs in bounded steps over the record-level
work in ``_records`` (the offset map, retention rules and batch rewriting)."""
