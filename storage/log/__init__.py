"""One partition's log: ``log.Log`` over ``segment.LogSegment`` files with their ``index`` files
(offset and time indexes), the leader-epoch cache, read and append results, and the checks an append
runs (``_validate``) and the producer-state bookkeeping it does (``_producers``)."""
