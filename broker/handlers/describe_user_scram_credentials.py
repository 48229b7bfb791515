"""DescribeUserScramCredentials (50), version 0.

- No users (null or empty): every user with a SCRAM credential, by name. Named users: one result each,
  RESOURCE_NOT_FOUND for a user without credentials, DUPLICATE_RESOURCE for a user named twice, as Kafka.
- Each result lists the user's mechanisms (1: SCRAM-SHA-256, 2: SCRAM-SHA-512) and iterations; never a
  salt or key.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.security.sasl import SCRAM_MECHANISMS
from protocol.errors import ErrorCode
from protocol.messages.describe_user_scram_credentials import (
    DESCRIBE_USER_SCRAM_CREDENTIALS,
    CredentialInfo,
    DescribeUserScramCredentialsRequest,
    DescribeUserScramCredentialsResponse,
    DescribeUserScramCredentialsResult,
)


@handles(DESCRIBE_USER_SCRAM_CREDENTIALS, versions="0-0")
async def handle_describe_user_scram_credentials(
    ctx: RequestContext, request: DescribeUserScramCredentialsRequest
) -> DescribeUserScramCredentialsResponse:
    if not _authz.cluster_allowed(ctx):
        denied = ErrorCode.CLUSTER_AUTHORIZATION_FAILED
        return DescribeUserScramCredentialsResponse(error_code=denied, error_message=None)
    store = ctx.components.scram_credentials
    names = [u.name for u in request.users or []] or sorted(store.users)
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    results = []
    for name in dict.fromkeys(names):
        credentials = store.mechanisms(name)
        if counts[name] > 1:
            results.append(DescribeUserScramCredentialsResult(
                user=name, error_code=ErrorCode.DUPLICATE_RESOURCE,
                error_message="Cannot describe SCRAM credentials for the same user twice in a single request",
            ))  # fmt: skip
        elif not credentials:
            results.append(DescribeUserScramCredentialsResult(
                user=name, error_code=ErrorCode.RESOURCE_NOT_FOUND,
                error_message="Attempt to describe a user credential that does not exist",
            ))  # fmt: skip
        else:
            infos = [
                CredentialInfo(mechanism=SCRAM_MECHANISMS[mechanism][1], iterations=credential.iterations)
                for mechanism, credential in sorted(credentials.items())
            ]
            results.append(DescribeUserScramCredentialsResult(user=name, error_message=None, credential_infos=infos))
    return DescribeUserScramCredentialsResponse(error_message=None, results=results)
