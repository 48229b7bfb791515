"""AlterUserScramCredentials (51), version 0.

- Upserts carry the client-salted password (``Hi(password, salt, iterations)``); the broker keeps only
  Kafka's stored key and server key with the salt and iterations (``broker.security.scram_store``).
- One result per user named, in the order first named. A user whose changes fail any check gets that
  error and none of its changes, as in Kafka: the same user and mechanism twice is DUPLICATE_RESOURCE, an
  empty name or empty salt/password UNACCEPTABLE_CREDENTIAL, an unknown mechanism
  UNSUPPORTED_SASL_MECHANISM, iterations outside 4096-16384 UNACCEPTABLE_CREDENTIAL, deleting a
  credential that does not exist RESOURCE_NOT_FOUND.
- Served on every listener; without an authorizer anyone may call it (Kafka's behaviour).
"""

from __future__ import annotations

from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.security.sasl import (
    MAX_ITERATIONS,
    MIN_ITERATIONS,
    SCRAM_MECHANISMS,
    ScramCredential,
    credential_from_salted_password,
)
from protocol.errors import ErrorCode
from protocol.messages.alter_user_scram_credentials import (
    ALTER_USER_SCRAM_CREDENTIALS,
    AlterUserScramCredentialsRequest,
    AlterUserScramCredentialsResponse,
    AlterUserScramCredentialsResult,
    ScramCredentialUpsertion,
)

_BY_ID = {type_id: name for name, (_, type_id) in SCRAM_MECHANISMS.items()}


@handles(ALTER_USER_SCRAM_CREDENTIALS, versions="0-0")
async def handle_alter_user_scram_credentials(
    ctx: RequestContext, request: AlterUserScramCredentialsRequest
) -> AlterUserScramCredentialsResponse:
    if not _authz.cluster_allowed(ctx):
        names = dict.fromkeys([d.name for d in request.deletions] + [u.name for u in request.upsertions])
        return AlterUserScramCredentialsResponse(
            results=[
                AlterUserScramCredentialsResult(
                    user=n, error_code=ErrorCode.CLUSTER_AUTHORIZATION_FAILED, error_message=None
                )
                for n in names
            ]
        )
    store = ctx.components.scram_credentials
    users: dict[str, tuple[int, str | None]] = {}  # user -> its first error
    seen: set[tuple[str, int]] = set()

    def fail(user: str, code: int, message: str) -> None:
        if users.get(user, (0, None))[0] == 0:
            users[user] = (code, message)

    items: list[tuple[str, int, ScramCredentialUpsertion | None]] = [
        (d.name, d.mechanism, None) for d in request.deletions
    ]
    items += [(u.name, u.mechanism, u) for u in request.upsertions]
    upserts: dict[tuple[str, str], ScramCredential] = {}
    deletions: set[tuple[str, str]] = set()
    for name, mechanism_id, upsertion in items:
        users.setdefault(name, (0, None))
        mechanism = _BY_ID.get(mechanism_id)
        if (name, mechanism_id) in seen:
            fail(name, ErrorCode.DUPLICATE_RESOURCE, "A user credential cannot be altered twice in the same request")
        seen.add((name, mechanism_id))
        if not name:
            fail(name, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Username must not be empty")
        elif mechanism is None:
            fail(name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism")
        elif upsertion is None:
            if store.get(name, mechanism) is None:
                fail(name, ErrorCode.RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist")
            deletions.add((name, mechanism))
        elif upsertion.iterations < MIN_ITERATIONS:
            fail(name, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too few iterations")
        elif upsertion.iterations > MAX_ITERATIONS:
            fail(name, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too many iterations")
        elif not upsertion.salt or not upsertion.salted_password:
            fail(name, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Salt and salted password must not be empty")
        else:
            upserts[(name, mechanism)] = credential_from_salted_password(
                mechanism, upsertion.salted_password, upsertion.salt, upsertion.iterations
            )
    failed = {user for user, (code, _) in users.items() if code}
    try:
        store.alter(
            {key: value for key, value in upserts.items() if key[0] not in failed},
            {key for key in deletions if key[0] not in failed},
        )
        await store.persisted()
    except OSError as exc:
        for user in users:
            fail(user, ErrorCode.UNKNOWN_SERVER_ERROR, f"cannot store the credentials: {exc.strerror}")
    return AlterUserScramCredentialsResponse(
        results=[
            AlterUserScramCredentialsResult(user=user, error_code=code, error_message=message)
            for user, (code, message) in users.items()
        ]
    )
