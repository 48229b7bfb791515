"""SaslHandshake (key 17): the client picks a SASL mechanism. Versions 0-1, flexible none."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Int16, String, Struct, struct


@struct
class SaslHandshakeRequest(Struct):
    mechanism: String = ""


@struct
class SaslHandshakeResponse(Struct):
    error_code: Int16 = 0
    mechanisms: list[String] = []


SASL_HANDSHAKE = api(17, "SaslHandshake", SaslHandshakeRequest, SaslHandshakeResponse, versions="0-1", flexible="none")
