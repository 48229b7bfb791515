"""SaslHandshake (17), versions 0-1.

- Served before authentication on SASL listeners (``broker.security.authenticator``): an enabled mechanism
  is answered NONE with the listener's mechanisms; v1 is followed by SaslAuthenticate requests, v0 by
  bare SASL tokens (pre-KIP-152 framing). Another mechanism is UNSUPPORTED_SASL_MECHANISM (with the
  enabled ones) and the connection closes after the answer.
- Once authenticated with ``connections.max.reauth.ms`` > 0 it begins a re-authentication (KIP-368):
  same mechanism and v1 only (else UNSUPPORTED_SASL_MECHANISM and the connection closes).
- On a listener without SASL, or once authenticated without re-authentication: ILLEGAL_SASL_STATE, no
  mechanisms, as Kafka's ``KafkaApis`` answers.
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from protocol.errors import ErrorCode
from protocol.messages.sasl_handshake import SASL_HANDSHAKE, SaslHandshakeRequest, SaslHandshakeResponse


@handles(SASL_HANDSHAKE, versions="0-1")
async def handle_sasl_handshake(ctx: RequestContext, request: SaslHandshakeRequest) -> SaslHandshakeResponse:
    sasl = ctx.security.sasl if ctx.security is not None else None
    if sasl is None or (sasl.complete and not sasl.may_reauthenticate):
        return SaslHandshakeResponse(error_code=ErrorCode.ILLEGAL_SASL_STATE, mechanisms=[])
    mechanisms = list(sasl.security.mechanisms)
    if not sasl.handshake(request.mechanism, ctx.version):
        return SaslHandshakeResponse(error_code=ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms=mechanisms)
    return SaslHandshakeResponse(error_code=ErrorCode.NONE, mechanisms=mechanisms)
