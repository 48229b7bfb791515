"""The transaction coordinator: transactional ids, their producer ids and epochs, and two-phase commit
through ``__transaction_state`` and transaction markers (Kafka's TransactionCoordinator)."""
