"""Fetch sessions (KIP-227), as far as this broker keeps them: it keeps none.

A request's (session id, epoch) says what the client wants:

- (0, -1): a sessionless full fetch. Answered in full, session id 0.
- (any, 0): a full fetch that also asks for a new session (closing the one named, if any). Kafka
  answers session id 0 when its cache has no free slot; this broker always does, as if
  ``max.incremental.fetch.session.cache.slots`` were 0. Clients then go on with full fetches.
- (id, -1) with id != 0: close the session and fetch in full without one.
- (id, epoch > 0): an incremental fetch in a session this broker never created:
  FETCH_SESSION_ID_NOT_FOUND, the same answer Kafka gives for an evicted session; the client
  falls back to a full fetch.

Keeping real incremental sessions (only changed partitions in each answer) is a later speed-up;
the contract with clients is already the right one.
"""

from __future__ import annotations

from dataclasses import dataclass

INVALID_SESSION_ID = 0
INITIAL_EPOCH = 0
FINAL_EPOCH = -1


@dataclass(frozen=True, slots=True)
class SessionDecision:
    """``session_missing``: answer FETCH_SESSION_ID_NOT_FOUND with no data; else a full fetch whose
    answer carries ``session_id``."""

    session_missing: bool
    session_id: int = INVALID_SESSION_ID


def decide(session_id: int, epoch: int) -> SessionDecision:
    if epoch in (INITIAL_EPOCH, FINAL_EPOCH):
        return SessionDecision(False)
    return SessionDecision(True)
