"""Feed one store's stream into another store's ``put`` without holding the object in memory."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

_DONE = object()


def pumped(chunks: Iterator[bytes], *, depth: int = 4) -> Iterator[bytes]:
    """``chunks``, read on a thread of their own and at most ``depth`` chunks ahead.

    obstore's synchronous ``put`` consumes its iterator inside its own async runtime, and an obstore stream read
    there panics ("Cannot start a runtime from within a runtime"); a separate reader thread avoids that.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    abandoned = threading.Event()

    def offer(item: object) -> bool:
        while not abandoned.is_set():
            try:
                buffer.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for chunk in chunks:
                if not offer(chunk):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it where put() can see it
            offer(exc)

    threading.Thread(target=read, name="reelm-pump", daemon=True).start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        abandoned.set()  # the consumer stopped early (error or cancel): let the reader thread end
