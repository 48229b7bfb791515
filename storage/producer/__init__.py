"""Producer state (idempotence and transactions): ``state.ProducerStateManager`` with its per-producer
``entry`` records, ``snapshot`` files, transaction markers (``txn``) and ``errors``."""
