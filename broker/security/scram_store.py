"""Users' SCRAM credentials, salted as Kafka keeps them, and where they are kept.

Each user's credentials are Kafka's ``/config/users/<user>`` document::

    {"version":1,"config":{"SCRAM-SHA-256":"salt=...,stored_key=...,server_key=...,iterations=8192"}}

``ScramCredentialStore`` holds them in memory (the base, for in-process use); ``LogDirScramStore`` also
writes them all to ``user-scram-credentials.json`` in the first log dir through storage's atomic write
(write-temp, fsync, rename), so a crash leaves the old set or the new one. In cluster mode
``broker.controller.zk.scram.ZkScramStore`` takes the same place: it overrides ``_persist`` (write
``/config/users/<user>`` and a change notification; ``persisted`` waits for it) and calls
``replace_user`` when a notification arrives. Passwords are never stored.

Not thread-safe: the broker's event loop owns it.
"""

from __future__ import annotations

import json
import os

from broker.security.sasl import ScramCredential
from storage.fs import REAL_FS, FileSystem

FILE_NAME = "user-scram-credentials.json"


class ScramCredentialStore:
    def __init__(self) -> None:
        self.users: dict[str, dict[str, ScramCredential]] = {}

    def get(self, user: str, mechanism: str) -> ScramCredential | None:
        return self.users.get(user, {}).get(mechanism)

    def mechanisms(self, user: str) -> dict[str, ScramCredential]:
        return dict(self.users.get(user, {}))

    def alter(self, upserts: dict[tuple[str, str], ScramCredential], deletions: set[tuple[str, str]]) -> None:
        """Apply one request's changes at once, then persist the users changed."""
        changed = {user for user, _ in upserts} | {user for user, _ in deletions}
        for user, mechanism in deletions:
            self.users.get(user, {}).pop(mechanism, None)
        for (user, mechanism), credential in upserts.items():
            self.users.setdefault(user, {})[mechanism] = credential
        for user in changed:
            if not self.users.get(user):
                self.users.pop(user, None)
        self._persist(changed)

    def replace_user(self, user: str, document: dict[str, object] | None) -> None:
        """Set ``user``'s credentials from a Kafka ``/config/users/<user>`` document (None: removed)."""
        credentials = {}
        config = (document or {}).get("config") or {}
        assert isinstance(config, dict)
        for mechanism, text in config.items():
            if mechanism.startswith("SCRAM-"):
                credentials[mechanism] = ScramCredential.from_kafka_string(str(text))
        if credentials:
            self.users[user] = credentials
        else:
            self.users.pop(user, None)

    def document(self, user: str) -> dict[str, object]:
        config = {m: c.to_kafka_string() for m, c in sorted(self.users.get(user, {}).items())}
        return {"version": 1, "config": config}

    def _persist(self, users: set[str]) -> None:
        """Where the credentials are kept; in memory only here."""

    async def persisted(self) -> None:
        """Wait until every change so far is kept (a ZooKeeper store writes after ``alter`` returns)."""


class LogDirScramStore(ScramCredentialStore):
    def __init__(self, log_dir: str, fs: FileSystem = REAL_FS) -> None:
        super().__init__()
        self.path = os.path.join(log_dir, FILE_NAME)
        self.fs = fs

    def load(self) -> None:
        """Read the file if there is one; a file that cannot be read is an error (never silently empty)."""
        try:
            with open(self.path, encoding="utf-8") as f:
                documents = json.load(f)
        except FileNotFoundError:
            return
        for user, document in documents.items():
            self.replace_user(user, document)

    def _persist(self, users: set[str]) -> None:
        data = {user: self.document(user) for user in sorted(self.users)}
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.fs.write_file_atomically(self.path, json.dumps(data, indent=1, sort_keys=True).encode())
