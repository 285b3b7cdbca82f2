"""The one scheduler: interval and cron (Beijing time) schedules, fire times within the grace, no task
overlapping itself, exclusive tasks one process at a time, failures logged and retried at the next beat."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from medreach.core.locks import file_lock
from medreach.core.scheduler import Cron, Every, Scheduler, Task

T0 = datetime(2026, 11, 25, 18, 58, 30, tzinfo=UTC)  # 02:58:30 on 26 November in Beijing


def recorder():
    fired: list[tuple[str, datetime]] = []
    return fired, lambda name: lambda at: fired.append((name, at))


def test_cron_reads_beijing_time():
    backup = Cron("0 3 * * *")
    assert backup.next_after(T0) == datetime(2026, 11, 25, 19, 0, tzinfo=UTC)  # 03:00 +08:00
    assert backup.previous(T0) == datetime(2026, 11, 24, 19, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a cron expression"):
        Cron("every day")


def test_due_tasks_and_their_next_times(tmp_path):
    fired, make = recorder()
    scheduler = Scheduler([Task("often", Every(30), make("often")), Task("backup", Cron("0 3 * * *"), make("backup"))],
                          tmp_path)
    assert scheduler.due(T0) == []  # first beat: intervals start counting, the 03:00 backup is ahead
    assert [t.name for t, _ in scheduler.due(T0 + timedelta(seconds=30))] == ["often"]
    due = scheduler.due(T0 + timedelta(seconds=95))  # 03:00:05 Beijing
    assert [(t.name, at) for t, at in due] == [("often", T0 + timedelta(seconds=60)),
                                                ("backup", datetime(2026, 11, 25, 19, 0, tzinfo=UTC))]
    assert scheduler.due(T0 + timedelta(seconds=100)) == []  # each fire time once
    assert [t.name for t, _ in scheduler.due(T0 + timedelta(days=1, seconds=95))] == ["often", "backup"]


def test_a_cron_time_missed_beyond_the_grace_is_skipped_and_a_restart_within_it_fires(tmp_path):
    fired, make = recorder()
    lake = Task("lake_sync", Cron("*/5 * * * *"), make("lake_sync"))
    late = Scheduler([lake], tmp_path, grace=timedelta(minutes=2))
    late.due(T0)  # next: 19:00 UTC
    assert late.due(T0 + timedelta(minutes=6)) == []  # 19:00 was 4.5 minutes ago: skipped, 19:05 next
    assert [at for _, at in late.due(T0 + timedelta(minutes=6, seconds=35))] == [T0 + timedelta(minutes=6, seconds=30)]
    restarted = Scheduler([lake], tmp_path)
    assert [at for _, at in restarted.due(T0 + timedelta(minutes=1, seconds=40))] == [
        datetime(2026, 11, 25, 19, 0, tzinfo=UTC)]  # started 40 s after 19:00: that beat is not lost


def test_a_failing_task_is_logged_and_the_next_beat_runs_it_again(tmp_path):
    calls = []

    def flaky(at):
        calls.append(at)
        if len(calls) == 1:
            raise RuntimeError("database away")
        return "ok"

    scheduler = Scheduler([Task("flaky", Every(1), flaky)], tmp_path)
    task = scheduler.tasks["flaky"]
    scheduler.run(task, T0)  # does not raise
    scheduler.run(task, T0 + timedelta(seconds=1))
    assert calls == [T0, T0 + timedelta(seconds=1)]


def test_a_task_never_overlaps_itself(tmp_path):
    release, started = threading.Event(), []

    def slow(at):
        started.append(at)
        release.wait(5)

    scheduler = Scheduler([Task("slow", Every(10), slow)], tmp_path)
    scheduler.due(T0)
    assert scheduler.beat(T0 + timedelta(seconds=10)) == 1
    assert scheduler.beat(T0 + timedelta(seconds=20)) == 0  # the first run still goes
    release.set()
    scheduler._running["slow"].join(5)
    assert scheduler.beat(T0 + timedelta(seconds=30)) == 1 and len(started) >= 1
    scheduler.stop()


def test_an_exclusive_task_skips_while_another_process_holds_its_lock(tmp_path):
    fired, make = recorder()
    scheduler = Scheduler([Task("compact", Every(60), make("compact"), exclusive=True)], tmp_path)
    task = scheduler.tasks["compact"]
    with file_lock(tmp_path / "compact.lock") as held:  # another process is compacting
        assert held
        scheduler.run(task, T0)
    assert fired == []
    scheduler.run(task, T0 + timedelta(seconds=60))
    assert fired == [("compact", T0 + timedelta(seconds=60))]


def test_start_and_stop_run_the_beat(tmp_path):
    ran = threading.Event()
    scheduler = Scheduler([Task("quick", Every(0.05), lambda at: ran.set())], tmp_path)
    scheduler.start()
    try:
        assert ran.wait(5)
    finally:
        scheduler.stop()
    assert not scheduler._beat.is_alive()
