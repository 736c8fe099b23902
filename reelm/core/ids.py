"""Globally unique, time-ordered identifiers (UUIDv7, RFC 9562).

Rows keep their ids when they later move between databases (per-jurisdiction realms), and ids sort by creation
time, which keeps B-tree inserts local and lets cursors paginate by id.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> uuid.UUID:
    """A UUIDv7: 48-bit Unix milliseconds, then a 12-bit counter that keeps ids monotonic within a millisecond."""
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            _counter = int.from_bytes(os.urandom(2)) & 0x3FF  # leave headroom for increments
        else:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    rand = int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
    return uuid.UUID(int=value)


def uuid7_time_ms(value: uuid.UUID) -> int:
    return value.int >> 80


def uuid7_floor(moment_ms: int) -> uuid.UUID:
    """The smallest UUIDv7 of that millisecond: ``id >= uuid7_floor(t)`` means "made at or after t"."""
    return uuid.UUID(int=(moment_ms & ((1 << 48) - 1)) << 80)


def uuid7_ceiling(moment_ms: int) -> uuid.UUID:
    """The largest UUIDv7 of that millisecond: ``id <= uuid7_ceiling(t)`` means "made at or before t"."""
    return uuid.UUID(int=(((moment_ms & ((1 << 48) - 1)) + 1) << 80) - 1)
