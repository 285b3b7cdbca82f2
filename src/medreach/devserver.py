"""Run a real MedReach server process for end-to-end tests and benchmarks (a fresh world each time)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "medreach.cli"]
# How long a server may take to answer /readyz: seconds when idle, much longer on 2 shared cores under a test run.
START_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env: dict[str, str]) -> None:
    """`medreach db upgrade` and `medreach demo` with the given environment."""
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run(CLI + args, env=env, check=True, capture_output=True, cwd=ROOT)


@contextmanager
def serving(
    env: dict[str, str], log_path: Path, workers: int = 1, wait_seconds: float = START_SECONDS
) -> Iterator[str]:
    """`medreach serve` on a free port until the block ends; yields the base URL once /readyz answers."""
    with server_process(env, log_path, workers, wait_seconds) as (_, base):
        yield base


@contextmanager
def server_process(
    env: dict[str, str], log_path: Path, workers: int = 1, wait_seconds: float = START_SECONDS, port: int | None = None
) -> Iterator[tuple[subprocess.Popen, str]]:
    """Like `serving`, also giving the process (a test may kill it)."""
    port = port or free_port()
    env = {**env, "MEDREACH_PORT": str(port)}
    with open(log_path, "a") as log:
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("server did not start: " + log_path.read_text()[-2000:])
                time.sleep(0.1)
            yield proc, base
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] if values else 0.0


def base_env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MEDREACH_DATABASE_URL", "MEDREACH_REDIS_URL")}
    # A small simulated world: enough behaviour in the lake for pages and jobs, quick to make.
    return {**env, "MEDREACH_VAR_DIR": str(var_dir), "MEDREACH_DEMO_USERS": "300", **extra}


SERVERS = {
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432",
}


@contextmanager
def scratch_database(kind: str, var_dir: Path) -> Iterator[str]:
    """A database of its own for one run (dropped afterwards); SQLite is a file in var_dir."""
    if kind == "sqlite":
        yield f"sqlite:///{var_dir / 'medreach.db'}"
        return
    import uuid

    import sqlalchemy as sa

    name = f"mr_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(SERVERS[kind], isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield f"{SERVERS[kind]}/{name}"
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE {name}" + (" WITH (FORCE)" if kind == "postgresql" else ""))
        admin.dispose()
