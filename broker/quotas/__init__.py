"""Client quotas (Kafka's ClientQuotaManager, ClientRequestQuotaManager, KIP-13, KIP-55, KIP-124,
KIP-219): which quota applies to a connection (``entities``), where the quotas are kept (``store``)
and how they are enforced (``manager``)."""
