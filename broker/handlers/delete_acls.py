"""DeleteAcls (31), versions 0-3.

- No authorizer (``authorizer.class.name`` unset): every filter is SECURITY_DISABLED, "No Authorizer
  is configured on the broker", with no matching ACLs, as Kafka answers without one.
- Needs ALTER on the cluster (``_authz``), else CLUSTER_AUTHORIZATION_FAILED for every filter, with Kafka's message.
- Filters match as DescribeAcls's (``describe_acls``); one with UNKNOWN values is INVALID_REQUEST and
  deletes nothing, the others delete what they match and list it.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._acls import NO_AUTHORIZER, to_filter
from protocol.errors import ErrorCode
from protocol.messages.delete_acls import (
    DELETE_ACLS,
    DeleteAclsFilterResult,
    DeleteAclsMatchingAcl,
    DeleteAclsRequest,
    DeleteAclsResponse,
)


@handles(DELETE_ACLS, versions="0-3")
async def handle_delete_acls(ctx: RequestContext, request: DeleteAclsRequest) -> DeleteAclsResponse:
    store = ctx.components.acls
    if store is None:
        error = DeleteAclsFilterResult(error_code=ErrorCode.SECURITY_DISABLED, error_message=NO_AUTHORIZER)
        return DeleteAclsResponse(filter_results=[error for _ in request.filters])
    if not _authz.cluster_allowed(ctx):
        error = DeleteAclsFilterResult(
            error_code=ErrorCode.CLUSTER_AUTHORIZATION_FAILED, error_message=_authz.cluster_denied_message(ctx)
        )
        return DeleteAclsResponse(filter_results=[error for _ in request.filters])
    filters = [to_filter(f) for f in request.filters]
    valid = [f for f in filters if f.invalid_reason() is None]
    removed = iter(await store.delete(valid))
    results: list[DeleteAclsFilterResult] = []
    for flt in filters:
        reason = flt.invalid_reason()
        if reason is not None:
            results.append(DeleteAclsFilterResult(error_code=ErrorCode.INVALID_REQUEST, error_message=reason))
            continue
        matching = [
            DeleteAclsMatchingAcl(
                error_message=None,
                resource_type=b.pattern.resource_type,
                resource_name=b.pattern.name,
                pattern_type=b.pattern.pattern_type,
                principal=b.entry.principal,
                host=b.entry.host,
                operation=b.entry.operation,
                permission_type=b.entry.permission_type,
            )
            for b in next(removed)
        ]
        results.append(DeleteAclsFilterResult(error_message=None, matching_acls=matching))
    return DeleteAclsResponse(filter_results=results)
