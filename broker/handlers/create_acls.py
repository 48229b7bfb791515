"""CreateAcls (30), versions 0-3.

- No authorizer (the only case so far, see ``describe_acls``): every creation is SECURITY_DISABLED, "No
  Authorizer is configured on the broker", as Kafka answers without one.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from protocol.errors import ErrorCode
from protocol.messages.create_acls import CREATE_ACLS, AclCreationResult, CreateAclsRequest, CreateAclsResponse

NO_AUTHORIZER = "No Authorizer is configured on the broker"


@handles(CREATE_ACLS, versions="0-3")
async def handle_create_acls(ctx: RequestContext, request: CreateAclsRequest) -> CreateAclsResponse:
    return CreateAclsResponse(
        results=[
            AclCreationResult(error_code=ErrorCode.SECURITY_DISABLED, error_message=NO_AUTHORIZER)
            for _ in request.creations
        ]
    )
