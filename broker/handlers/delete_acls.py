"""DeleteAcls (31), versions 0-3.

- No authorizer (the only case so far, see ``describe_acls``): every filter is SECURITY_DISABLED, "No
  Authorizer is configured on the broker", with no matching ACLs, as Kafka answers without one.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from protocol.errors import ErrorCode
from protocol.messages.delete_acls import DELETE_ACLS, DeleteAclsFilterResult, DeleteAclsRequest, DeleteAclsResponse

NO_AUTHORIZER = "No Authorizer is configured on the broker"


@handles(DELETE_ACLS, versions="0-3")
async def handle_delete_acls(ctx: RequestContext, request: DeleteAclsRequest) -> DeleteAclsResponse:
    return DeleteAclsResponse(
        filter_results=[
            DeleteAclsFilterResult(error_code=ErrorCode.SECURITY_DISABLED, error_message=NO_AUTHORIZER)
            for _ in request.filters
        ]
    )
