"""The durable event log: append-only JSON-lines segments, acknowledged only once on disk.

Writers hand their lines to one writer thread, which writes everything waiting, calls fsync once and
then releases all of them (group commit): durability costs one fsync per batch of batches, not per event.
A process never appends to a segment it did not open, so a crash can leave at most a torn last line in
its own segment; that line was never acknowledged, and readers skip it.
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

_SEAL = bytes(bytearray(b"<seal>"))  # a marker in the write queue (a unique object, compared by identity)
Waiter = Callable[[BaseException | None], None]


class EventLog:
    def __init__(
        self,
        directory: Path,
        segment_max_bytes: int = 128 * 1024 * 1024,
        fsync: bool = True,
        segment_max_seconds: float = 60.0,
    ):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.segment_max_bytes, self.fsync = segment_max_bytes, fsync
        self.segment_max_seconds = segment_max_seconds  # a segment this old is sealed: compaction may take it
        self._cond = threading.Condition()
        self._pending: list[tuple[bytes, Waiter]] = []
        self._closed = False
        self._file: io.FileIO | None = None
        self._seq = 0
        self._thread = threading.Thread(target=self._run, name="event-log-writer", daemon=True)
        self._thread.start()

    # --- writing ---------------------------------------------------------------------------------------
    def _open_segment(self) -> io.FileIO:
        self._seq += 1
        name = f"{time.time_ns():020d}-{os.getpid()}-{self._seq:04d}.jsonl"
        self._size, self._opened = 0, time.monotonic()
        return open(self.directory / name, "ab", buffering=0)  # closed when sealed

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending and self._closed:
                    return
                batch, self._pending = self._pending, []
            error = None
            try:
                data = b"".join(chunk for chunk, _ in batch if chunk is not _SEAL)
                if data:
                    if (
                        self._file is None
                        or self._size >= self.segment_max_bytes
                        or (time.monotonic() - self._opened >= self.segment_max_seconds)
                    ):
                        if self._file is not None:
                            self._file.close()
                        self._file = self._open_segment()
                    self._file.write(data)
                    if self.fsync:
                        os.fsync(self._file.fileno())
                    self._size += len(data)
                if self._file is not None and any(chunk is _SEAL for chunk, _ in batch):
                    self._file.close()  # seal(): the next write opens a new segment
                    self._file = None
            except OSError as e:  # disk full, I/O error: every waiter hears it, nothing is acknowledged
                error = e
            for _, waiter in batch:
                waiter(error)

    def _submit(self, lines: list[bytes], waiter: Waiter) -> None:
        chunk = b"".join(line + b"\n" for line in lines)
        with self._cond:
            if self._closed:
                raise RuntimeError("event log closed")
            self._pending.append((chunk, waiter))
            self._cond.notify()

    def seal(self) -> None:
        """Close the segment being written (after what is waiting), so compaction can take it now."""
        done = threading.Event()
        with self._cond:
            self._pending.append((_SEAL, lambda error: done.set()))
            self._cond.notify()
        done.wait()

    def append(self, lines: list[bytes]) -> None:
        """Block until the lines are on disk."""
        done = threading.Event()
        result: list[BaseException | None] = [None]

        def waiter(error):
            result[0] = error
            done.set()

        self._submit(lines, waiter)
        done.wait()
        if result[0] is not None:
            raise result[0]

    async def append_async(self, lines: list[bytes]) -> None:
        """Await until the lines are on disk, without holding a thread while waiting."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def waiter(error):
            def settle():
                if not future.done():
                    future.set_exception(error) if error else future.set_result(None)

            loop.call_soon_threadsafe(settle)

        self._submit(lines, waiter)
        await future

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=10)
        if self._file is not None:
            self._file.close()
            self._file = None

    # --- reading ---------------------------------------------------------------------------------------------
    def segments(self) -> list[Path]:
        """Segments not yet compacted into the lake."""
        return sorted(self.directory.glob("*.jsonl"))

    @property
    def compacted_dir(self) -> Path:
        return self.directory / "compacted"

    def all_segments(self) -> list[Path]:
        """Compacted ones too (kept for de-duplication and audits)."""
        return sorted(self.compacted_dir.glob("*.jsonl")) + self.segments()

    def sealed_segments(self, quiet_seconds: float | None = None) -> list[Path]:
        """Segments no writer will touch again: not this process's open one, and unchanged for a while
        (another process's open segment is still being written to)."""
        quiet = self.segment_max_seconds + 5 if quiet_seconds is None else quiet_seconds
        current = Path(self._file.name) if self._file is not None else None
        now = time.time()
        return [p for p in self.segments() if p != current and now - p.stat().st_mtime >= quiet]

    def read(self, segments: list[Path] | None = None) -> Iterator[dict]:
        """Every complete record, oldest segment first. A torn trailing line (a crash mid-write) is skipped."""
        for path in segments if segments is not None else self.segments():
            with open(path, "rb") as f:
                for line in f:
                    if not line.endswith(b"\n"):
                        break
                    try:
                        yield orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue
