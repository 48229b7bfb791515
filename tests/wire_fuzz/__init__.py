"""A wire fuzzer: structurally valid requests of every API and version, with hostile field values.

Requests are built from the project's own message definitions (``protocol.messages``), so they reach
the handlers, not only the decoders: every field gets a value of its type, often an odd one (null
strings and arrays, the extremes of every integer, -1, empty and long arrays, over-long strings,
unknown tagged fields, invalid enum values, record batches with a bad codec, magic or CRC), and now and
then one length prefix is broken on purpose (a negative or huge length, a null where none is allowed),
which the decoder must refuse. Topic, group and transactional ids come mostly from small pools of
names that exist, so the handlers go past their "unknown topic" checks.

The invariant, checked after every request: **an answer, or our one-line close, never a handler
traceback**. An answer must decode as the response of that API and version with the request's
correlation id. A closed connection must leave one log line about it and no "failed in its handler",
"after a broker error" or Traceback in the broker's log; a fresh connection must then still get an
ApiVersions answer. Every broken invariant becomes a ``Finding`` with the request that caused it.

Used by ``tests/broker/test_fuzz_wire.py`` (a short seeded run in ``make test``) and by
``bench/fuzz_wire.py`` (a long run in ``make bench``). Both start one real broker process.

Modules: ``requests`` builds the requests (field values, a lenient encoder that lets through what
a correct one refuses); ``runner`` sends them and checks the invariant.
"""

from tests.wire_fuzz.requests import SPECIAL_CONFIGS, TOPICS
from tests.wire_fuzz.runner import Finding, Fuzzer, Stats

__all__ = ["SPECIAL_CONFIGS", "TOPICS", "Finding", "Fuzzer", "Stats"]
