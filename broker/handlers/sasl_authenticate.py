"""SaslAuthenticate (36), versions 0-2.

- One SASL token of the mechanism chosen by a v1 SaslHandshake; the answer carries the server's token.
- A refused token is SASL_AUTHENTICATION_FAILED with Kafka's message (``Authentication failed: Invalid
  username or password`` for PLAIN; for SCRAM and malformed tokens ``Authentication failed during
  authentication due to invalid credentials with SASL mechanism <M>``); the connection then closes after
  ``connection.failed.authentication.delay.ms``.
- v1+: ``session_lifetime_ms`` is ``connections.max.reauth.ms`` (0: sessions do not expire). A session
  that expires closes its connection at the next request that does not begin a re-authentication
  (KIP-368), whatever version the client authenticated with, as in Kafka. A re-authentication must keep
  the principal ("Cannot change principals during re-authentication ...").
- On a listener without SASL, or once authenticated: ILLEGAL_SASL_STATE, "SaslAuthenticate request
  received after successful authentication", and the connection stays, as in Kafka.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from protocol.errors import ErrorCode
from protocol.messages.sasl_authenticate import SASL_AUTHENTICATE, SaslAuthenticateRequest, SaslAuthenticateResponse


@handles(SASL_AUTHENTICATE, versions="0-2")
async def handle_sasl_authenticate(ctx: RequestContext, request: SaslAuthenticateRequest) -> SaslAuthenticateResponse:
    sasl = ctx.security.sasl if ctx.security is not None else None
    if sasl is None or sasl.complete:
        return SaslAuthenticateResponse(
            error_code=ErrorCode.ILLEGAL_SASL_STATE,
            error_message="SaslAuthenticate request received after successful authentication",
        )
    answer, failure = sasl.evaluate(request.auth_bytes)
    if failure is not None:
        return SaslAuthenticateResponse(error_code=ErrorCode.SASL_AUTHENTICATION_FAILED, error_message=failure)
    lifetime = sasl.session_lifetime_ms if sasl.complete and ctx.version >= 1 else 0
    return SaslAuthenticateResponse(
        error_code=ErrorCode.NONE, error_message=None, auth_bytes=answer, session_lifetime_ms=lifetime
    )
