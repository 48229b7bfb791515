"""SaslAuthenticate (key 36): one round of SASL authentication bytes. Versions 0-2, flexible 2+."""

from __future__ import annotations

from typing import Annotated

from protocol.api import api
from protocol.schema import Bytes, Int16, Int64, String, Struct, V, struct


@struct
class SaslAuthenticateRequest(Struct):
    auth_bytes: Bytes = b""


@struct
class SaslAuthenticateResponse(Struct):
    error_code: Int16 = 0
    error_message: String | None = ""
    auth_bytes: Bytes = b""
    session_lifetime_ms: Annotated[Int64, V("1+")] = 0


SASL_AUTHENTICATE = api(
    36, "SaslAuthenticate", SaslAuthenticateRequest, SaslAuthenticateResponse, versions="0-2", flexible="2+"
)
