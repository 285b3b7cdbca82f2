"""The one scheduler: every periodic task (declared once, in `medreach.schedule`) with its schedule, fired by one
beat thread per process.

Schedules are `Every(seconds)` (work that keeps the system current: expiring orders, relaying domain events) or
`Cron("m h dom mon dow")` read in Beijing time (Asia/Shanghai has no daylight saving, so every expression means
one moment a day): the business's day, the one the console shows. A cron fire time missed by more than the
grace (the process was down) is skipped, not caught up.

Each due task runs on a thread of its own, so a slow one delays no other; a task never overlaps itself in a
process. Several processes run the same schedule; each task is safe with that by its own guard: guarded
updates (order expiry), rows locked with SKIP LOCKED and de-duplicated ids (the relay), a job run claimed by a
unique (job, fire time) row (pipeline jobs), or `exclusive=True`: a lock file, so one process at a time runs it
and the others skip that beat (compaction, which moves files).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import structlog
from croniter import croniter

from medreach.core.locks import file_lock

log = structlog.get_logger("medreach.scheduler")
CRON_TIMEZONE = "Asia/Shanghai"
SHANGHAI = ZoneInfo(CRON_TIMEZONE)


@dataclass(frozen=True)
class Every:
    seconds: float

    def next_after(self, moment: datetime) -> datetime:
        return moment + timedelta(seconds=self.seconds)

    def first(self, now: datetime, grace: timedelta) -> datetime:
        return self.next_after(now)


@dataclass(frozen=True)
class Cron:
    expr: str  # minute hour day-of-month month day-of-week, in Beijing time

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.expr):
            raise ValueError(f"not a cron expression: {self.expr!r}")

    def next_after(self, moment: datetime) -> datetime:
        return croniter(self.expr, moment.astimezone(SHANGHAI)).get_next(datetime).astimezone(UTC)

    def previous(self, moment: datetime) -> datetime:
        return croniter(self.expr, moment.astimezone(SHANGHAI)).get_prev(datetime).astimezone(UTC)

    def first(self, now: datetime, grace: timedelta) -> datetime:
        """A process that starts just after a fire time still fires it (a restart during the beat)."""
        previous = self.previous(now)
        return previous if now - previous <= grace else self.next_after(now)


Schedule = Every | Cron


@dataclass(frozen=True)
class Task:
    name: str
    schedule: Schedule
    run: Callable[[datetime], object]  # given the fire time (UTC); a truthy result is logged
    exclusive: bool = False  # one process at a time (a lock file); the others skip the beat


class Scheduler:
    def __init__(self, tasks: Iterable[Task], lock_dir: Path, grace: timedelta = timedelta(minutes=2)) -> None:
        self.tasks = {t.name: t for t in tasks}
        self.lock_dir, self.grace = lock_dir, grace
        self._next: dict[str, datetime] = {}
        self._running: dict[str, threading.Thread] = {}
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def schedules(self) -> dict[str, Schedule]:
        return {name: t.schedule for name, t in self.tasks.items()}

    def due(self, now: datetime) -> list[tuple[Task, datetime]]:
        """The tasks whose fire time has come, each with that time; their next times move on. A cron time
        missed by more than the grace is dropped."""
        fired = []
        for name, task in self.tasks.items():
            at = self._next.setdefault(name, task.schedule.first(now, self.grace))
            if at > now:
                continue
            if isinstance(task.schedule, Every) or now - at <= self.grace:
                fired.append((task, at))
            following = task.schedule.next_after(at)
            self._next[name] = following if following > now else task.schedule.next_after(now)
        return fired

    def run(self, task: Task, at: datetime) -> None:
        """Run one firing of a task here and now (under its lock if exclusive); failures are logged."""
        try:
            lock = file_lock(self.lock_dir / f"{task.name}.lock", wait=False) if task.exclusive else nullcontext(True)
            with lock as mine:
                if not mine:
                    return  # another process is at it
                result = task.run(at)
            if result:
                log.info("task_ran", task=task.name, result=result)
        except Exception:  # a failing run is logged; the next fire time tries again
            log.exception("task_failed", task=task.name)

    def beat(self, now: datetime | None = None) -> int:
        """Start every due task on its own thread, unless its previous run is still going; returns how many."""
        started = 0
        for task, at in self.due(now or datetime.now(UTC)):
            running = self._running.get(task.name)
            if running is not None and running.is_alive():
                log.info("task_still_running", task=task.name)
                continue
            thread = threading.Thread(target=self.run, args=(task, at), daemon=True, name=f"task-{task.name}")
            self._running[task.name] = thread
            thread.start()
            started += 1
        return started

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.beat()
            now = datetime.now(UTC)
            wake = min(self._next.values(), default=now + timedelta(seconds=60))
            self._stop.wait(min(max((wake - now).total_seconds(), 0.05), 60))

    def start(self) -> None:
        self._beat = threading.Thread(target=self._loop, daemon=True, name="scheduler")
        self._beat.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        for thread in [self._beat, *self._running.values()]:
            if thread is not None:
                thread.join(timeout=timeout)
