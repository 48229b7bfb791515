"""CreateAcls (30), versions 0-3.

- No authorizer (``authorizer.class.name`` unset): every creation is SECURITY_DISABLED, "No Authorizer
  is configured on the broker", as Kafka answers without one.
- Needs ALTER on the cluster (``_authz``), else CLUSTER_AUTHORIZATION_FAILED for every creation, with Kafka's message.
- A creation with UNKNOWN or filter-only values (ANY, MATCH), an empty resource name, a CLUSTER resource
  not named ``kafka-cluster`` or a principal without ``Type:`` is INVALID_REQUEST; the valid ones of
  the same request are created. v0 creations are LITERAL. Creating an ACL that exists changes nothing.
- Kept by ``components.acls``: the log dir, or ZooKeeper in cluster mode (seen by every broker).
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._acls import NO_AUTHORIZER, to_binding
from broker.security.acl import AclBinding, invalid_binding_reason
from protocol.errors import ErrorCode
from protocol.messages.create_acls import CREATE_ACLS, AclCreationResult, CreateAclsRequest, CreateAclsResponse


@handles(CREATE_ACLS, versions="0-3")
async def handle_create_acls(ctx: RequestContext, request: CreateAclsRequest) -> CreateAclsResponse:
    store = ctx.components.acls
    if store is None:
        error = AclCreationResult(error_code=ErrorCode.SECURITY_DISABLED, error_message=NO_AUTHORIZER)
        return CreateAclsResponse(results=[error for _ in request.creations])
    if not _authz.cluster_allowed(ctx):
        error = AclCreationResult(
            error_code=ErrorCode.CLUSTER_AUTHORIZATION_FAILED, error_message=_authz.cluster_denied_message(ctx)
        )
        return CreateAclsResponse(results=[error for _ in request.creations])
    results: list[AclCreationResult] = []
    valid: list[AclBinding] = []
    for creation in request.creations:
        binding = to_binding(creation)
        reason = invalid_binding_reason(binding)
        if reason is not None:
            results.append(AclCreationResult(error_code=ErrorCode.INVALID_REQUEST, error_message=reason))
        else:
            valid.append(binding)
            results.append(AclCreationResult(error_message=None))
    await store.create(valid)
    return CreateAclsResponse(results=results)
