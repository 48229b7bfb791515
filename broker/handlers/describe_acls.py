"""DescribeAcls (29), versions 0-3.

- No authorizer (``authorizer.class.name`` unset, and the only case so far: the authorizer is a later
  step): SECURITY_DISABLED, "No Authorizer is configured on the broker", and no resources, as Kafka's
  ``KafkaApis`` answers without one.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from protocol.errors import ErrorCode
from protocol.messages.describe_acls import DESCRIBE_ACLS, DescribeAclsRequest, DescribeAclsResponse

NO_AUTHORIZER = "No Authorizer is configured on the broker"


@handles(DESCRIBE_ACLS, versions="0-3")
async def handle_describe_acls(ctx: RequestContext, request: DescribeAclsRequest) -> DescribeAclsResponse:
    return DescribeAclsResponse(error_code=ErrorCode.SECURITY_DISABLED, error_message=NO_AUTHORIZER, resources=[])
