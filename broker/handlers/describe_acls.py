"""DescribeAcls (29), versions 0-3.

- No authorizer (``authorizer.class.name`` unset): SECURITY_DISABLED, "No Authorizer is configured on
  the broker", and no resources, as Kafka's ``KafkaApis`` answers without one.
- Needs DESCRIBE on the cluster (``_authz``), else CLUSTER_AUTHORIZATION_FAILED with Kafka's message,
  "Request Request(...) is not authorized."
- A filter with UNKNOWN values is INVALID_REQUEST. Patterns: ANY (any pattern type, exact name), MATCH
  (the LITERAL name, the LITERAL ``*`` and every PREFIXED pattern the name starts with), LITERAL,
  PREFIXED; a null name, principal or host matches any. v0 filters are LITERAL.
- The answer groups the matching ACLs by resource pattern.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._acls import NO_AUTHORIZER, to_filter
from broker.security.acl_store import group_by_pattern
from protocol.errors import ErrorCode
from protocol.messages.describe_acls import (
    DESCRIBE_ACLS,
    AclDescription,
    DescribeAclsRequest,
    DescribeAclsResource,
    DescribeAclsResponse,
)


@handles(DESCRIBE_ACLS, versions="0-3")
async def handle_describe_acls(ctx: RequestContext, request: DescribeAclsRequest) -> DescribeAclsResponse:
    store = ctx.components.acls
    if store is None:
        return DescribeAclsResponse(error_code=ErrorCode.SECURITY_DISABLED, error_message=NO_AUTHORIZER, resources=[])
    if not _authz.cluster_allowed(ctx):
        return DescribeAclsResponse(
            error_code=ErrorCode.CLUSTER_AUTHORIZATION_FAILED, error_message=_authz.cluster_denied_message(ctx)
        )
    flt = to_filter(request)
    reason = flt.invalid_reason()
    if reason is not None:
        return DescribeAclsResponse(error_code=ErrorCode.INVALID_REQUEST, error_message=reason)
    grouped = group_by_pattern(store.describe(flt))
    resources = [
        DescribeAclsResource(
            resource_type=pattern.resource_type,
            resource_name=pattern.name,
            pattern_type=pattern.pattern_type,
            acls=[
                AclDescription(
                    principal=e.principal, host=e.host, operation=e.operation, permission_type=e.permission_type
                )
                for e in sorted(entries, key=lambda e: (e.principal, e.host, e.operation, e.permission_type))
            ],
        )
        for pattern, entries in sorted(grouped.items(), key=lambda kv: (kv[0].resource_type, kv[0].name))
    ]
    return DescribeAclsResponse(error_message=None, resources=resources)
