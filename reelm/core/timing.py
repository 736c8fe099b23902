"""``Server-Timing``: how long a request spent in Django and in its named phases, sent with the response.

Off unless ``REELM_SERVER_TIMING`` is on: durations tell a client a little about the server (how big a viewer's
candidate pool is, whether a cache missed). On, browser developer tools show them beside each request, and
``bench/foryou.py`` reads them to tell a slow page's own work from time spent outside Django (the web server, the
machine's scheduler). Off, :func:`phase` costs one context-variable read.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.http import HttpRequest, HttpResponse

_spans: contextvars.ContextVar[list[tuple[str, float]] | None] = contextvars.ContextVar("reelm_spans", default=None)


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Time the block as ``name`` when the current request is timed (a name may repeat: the durations add up)."""
    spans = _spans.get()
    if spans is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        spans.append((name, time.perf_counter() - started))


def header(spans: list[tuple[str, float]], total: float) -> str:
    """The ``Server-Timing`` value: each phase's milliseconds (repeats added, in first-seen order), then ``app``."""
    summed: dict[str, float] = {}
    for name, seconds in spans:
        summed[name] = summed.get(name, 0.0) + seconds
    parts = [f"{name};dur={seconds * 1000:.2f}" for name, seconds in summed.items()]
    return ", ".join([*parts, f"app;dur={total * 1000:.2f}"])


def parse(value: str) -> dict[str, float]:
    """A ``Server-Timing`` value back into milliseconds by name (what the benchmark reads)."""
    out: dict[str, float] = {}
    for metric in value.split(","):
        name, _, params = metric.strip().partition(";")
        for param in params.split(";"):
            key, _, number = param.strip().partition("=")
            if key == "dur" and name:
                try:
                    out[name] = float(number)
                except ValueError:
                    continue
    return out


class ServerTimingMiddleware:
    """Outermost middleware when ``REELM_SERVER_TIMING`` is on: times the whole of Django's handling as ``app``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        spans: list[tuple[str, float]] = []
        token = _spans.set(spans)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            _spans.reset(token)
        response["Server-Timing"] = header(spans, time.perf_counter() - started)
        return response
