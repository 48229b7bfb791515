"""AlterUserScramCredentials (key 51): upsert or delete users' SCRAM credentials. Versions 0, flexible 0+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Bytes, Int8, Int16, Int32, String, Struct, struct


@struct
class ScramCredentialDeletion(Struct):
    name: String = ""
    mechanism: Int8 = 0


@struct
class ScramCredentialUpsertion(Struct):
    name: String = ""
    mechanism: Int8 = 0
    iterations: Int32 = 0
    salt: Bytes = b""
    salted_password: Bytes = b""


@struct
class AlterUserScramCredentialsRequest(Struct):
    deletions: list[ScramCredentialDeletion] = []
    upsertions: list[ScramCredentialUpsertion] = []


@struct
class AlterUserScramCredentialsResult(Struct):
    user: String = ""
    error_code: Int16 = 0
    error_message: String | None = ""


@struct
class AlterUserScramCredentialsResponse(Struct):
    throttle_time_ms: Int32 = 0
    results: list[AlterUserScramCredentialsResult] = []


ALTER_USER_SCRAM_CREDENTIALS = api(
    51,
    "AlterUserScramCredentials",
    AlterUserScramCredentialsRequest,
    AlterUserScramCredentialsResponse,
    versions="0-0",
    flexible="0+",
)
