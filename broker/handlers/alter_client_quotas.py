"""AlterClientQuotas (49), versions 0-1.

- Each entry names an entity (user, client-id or both; a null name is the default entity) and its
  ops: set a key to a value, or remove it. Entries are checked and applied one by one, as Kafka's
  ``alterClientQuotas`` does: an empty entity, an unknown entity type or an empty name is
  INVALID_REQUEST (a type given twice counts with its last name: Kafka reads the entity as a map);
  so is setting a key other than ``producer_byte_rate``, ``consumer_byte_rate``,
  ``request_percentage`` (``Invalid configuration key``) or a byte rate that is not a whole number
  (``must be a Long value``). Removing a key needs no check. ``validate_only`` checks and changes
  nothing.
- Quotas are kept where SCRAM credentials are (``broker.quotas.store``); in cluster mode in
  ``/config/users`` and ``/config/clients`` with a change notification, so every broker applies them.
- Needs ALTER_CONFIGS on the cluster (else CLUSTER_AUTHORIZATION_FAILED for every entry).
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.quotas.entities import InvalidQuota, entity_from_request, entity_path, stored_value
from broker.quotas.store import ClientQuotaStore
from protocol.errors import ErrorCode
from protocol.messages.alter_client_quotas import (
    ALTER_CLIENT_QUOTAS,
    AlterClientQuotasRequest,
    AlterClientQuotasRequestEntryData,
    AlterClientQuotasResponse,
    AlterClientQuotasResponseEntryData,
    EntityData,
)


@handles(ALTER_CLIENT_QUOTAS, versions="0-1")
async def handle_alter_client_quotas(
    ctx: RequestContext, request: AlterClientQuotasRequest
) -> AlterClientQuotasResponse:
    response = AlterClientQuotasResponse()
    allowed = _authz.cluster_allowed(ctx)
    quotas = ctx.components.client_quotas
    for entry in request.entries:
        answer = AlterClientQuotasResponseEntryData(
            error_code=ErrorCode.NONE,
            error_message=None,
            entity=[EntityData(entity_type=e.entity_type, entity_name=e.entity_name) for e in entry.entity],
        )
        response.entries.append(answer)
        if not allowed:
            answer.error_code = ErrorCode.CLUSTER_AUTHORIZATION_FAILED
            answer.error_message = "Cluster authorization failed."  # Kafka's message for the error
            continue
        try:
            path, ops = _checked(entry)
        except InvalidQuota as exc:
            answer.error_code, answer.error_message = ErrorCode.INVALID_REQUEST, str(exc)
            continue
        if request.validate_only or quotas is None:
            continue
        store: ClientQuotaStore = quotas.store
        try:
            store.alter({path: ops})
            await store.persisted()
        except OSError as exc:
            answer.error_code = ErrorCode.UNKNOWN_SERVER_ERROR
            answer.error_message = f"cannot store the quotas: {exc.strerror or exc}"
    return response


def _checked(entry: AlterClientQuotasRequestEntryData) -> tuple[str, dict[str, str | None]]:
    entity = entity_from_request((e.entity_type, e.entity_name) for e in entry.entity)
    ops: dict[str, str | None] = {}
    for op in entry.ops:
        ops[op.key] = None if op.remove else stored_value(op.key, op.value)
    return entity_path(entity), ops
