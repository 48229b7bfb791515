"""DescribeUserScramCredentials (key 50): the SCRAM mechanisms set up for users. Versions 0, flexible 0+."""

from __future__ import annotations

from protocol.api import api
from protocol.schema import Int8, Int16, Int32, String, Struct, struct


@struct
class UserName(Struct):
    name: String = ""


@struct
class DescribeUserScramCredentialsRequest(Struct):
    users: list[UserName] | None = []  # None or empty: every user


@struct
class CredentialInfo(Struct):
    mechanism: Int8 = 0
    iterations: Int32 = 0


@struct
class DescribeUserScramCredentialsResult(Struct):
    user: String = ""
    error_code: Int16 = 0
    error_message: String | None = ""
    credential_infos: list[CredentialInfo] = []


@struct
class DescribeUserScramCredentialsResponse(Struct):
    throttle_time_ms: Int32 = 0
    error_code: Int16 = 0
    error_message: String | None = ""
    results: list[DescribeUserScramCredentialsResult] = []


DESCRIBE_USER_SCRAM_CREDENTIALS = api(
    50,
    "DescribeUserScramCredentials",
    DescribeUserScramCredentialsRequest,
    DescribeUserScramCredentialsResponse,
    versions="0-0",
    flexible="0+",
)
