"""In-process periodic jobs (e.g. expiring unpaid orders). Each job must be safe to run in several
processes at once; the pipeline capability brings schedules with history and a console view."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

log = structlog.get_logger("medreach.jobs")


class Ticker:
    """Runs each job every `interval` seconds on a daemon thread until stopped."""

    def __init__(self) -> None:
        self._jobs: list[tuple[str, float, Callable[[], object]]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def every(self, seconds: float, name: str, fn: Callable[[], object]) -> None:
        self._jobs.append((name, seconds, fn))

    def _loop(self, name: str, seconds: float, fn: Callable[[], object]) -> None:
        while not self._stop.wait(seconds):
            try:
                result = fn()
                if result:
                    log.info("job_ran", job=name, result=result)
            except Exception:  # a failing run is logged; the next tick tries again
                log.exception("job_failed", job=name)

    def start(self) -> None:
        for name, seconds, fn in self._jobs:
            t = threading.Thread(target=self._loop, args=(name, seconds, fn), daemon=True, name=f"job-{name}")
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
