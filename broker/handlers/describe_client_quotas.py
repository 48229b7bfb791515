"""DescribeClientQuotas (48), versions 0-1.

- The filter's components each name an entity type (``user``, ``client-id``) and a match: exact
  (0, a name), the default entity (1), or any entity of that type (2). An entity matches when every
  component matches it; with ``strict`` it may have no other entity type. Entities with no quota are
  not listed; a user's SCRAM credentials, kept in the same node, never show.
- Refused filters (Kafka's ``describeClientQuotas``): an empty entity type, the same type twice, an
  exact match without a name or an unknown match type are INVALID_REQUEST; another entity type is
  UNSUPPORTED_VERSION (``Custom entity type ... not supported``), with null entries.
- Needs DESCRIBE_CONFIGS on the cluster (else CLUSTER_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.quotas.entities import InvalidQuota, UnsupportedEntityType, entity_items
from broker.quotas.store import Component, check_filter, describe
from protocol.errors import ErrorCode
from protocol.messages.describe_client_quotas import (
    DESCRIBE_CLIENT_QUOTAS,
    DescribeClientQuotasRequest,
    DescribeClientQuotasResponse,
    EntityData,
    EntryData,
    ValueData,
)


@handles(DESCRIBE_CLIENT_QUOTAS, versions="0-1")
async def handle_describe_client_quotas(
    ctx: RequestContext, request: DescribeClientQuotasRequest
) -> DescribeClientQuotasResponse:
    if not _authz.cluster_allowed(ctx):
        return _error(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.")
    try:
        by_type = check_filter(Component(c.entity_type, c.match_type, c.match) for c in request.components)
    except InvalidQuota as exc:
        return _error(ErrorCode.INVALID_REQUEST, str(exc))
    except UnsupportedEntityType as exc:
        return _error(ErrorCode.UNSUPPORTED_VERSION, str(exc))
    quotas = ctx.components.client_quotas
    configs = quotas.store.configs if quotas is not None else {}
    return DescribeClientQuotasResponse(
        error_message=None,
        entries=[
            EntryData(
                entity=[EntityData(entity_type=t, entity_name=n) for t, n in entity_items(entity)],
                values=[ValueData(key=k, value=v) for k, v in sorted(values.items())],
            )
            for entity, values in describe(configs, by_type, request.strict)
        ],
    )


def _error(code: ErrorCode, message: str) -> DescribeClientQuotasResponse:
    return DescribeClientQuotasResponse(error_code=code, error_message=message, entries=None)
