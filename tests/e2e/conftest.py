"""End-to-end fixtures: a real server process on a free port and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from medreach.devserver import base_env, prepare, serving

ROOT = Path(__file__).resolve().parents[2]
# CI shares 2 cores between the server, Chromium and the tests: give assertions the same patience as actions.
expect.set_options(timeout=15_000)
CHROMIUM = os.environ.get("MEDREACH_CHROMIUM", "/usr/bin/chromium")
DIST = ROOT / "src" / "medreach" / "web" / "dist" / "index.html"
# The widths every page must work at: a common laptop and a common phone.
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """`medreach db upgrade`, `medreach demo` and `medreach serve` on a fresh SQLite database; or a demo server already
    running at MEDREACH_E2E_SERVER (e.g. `make run`'s, while working on the UI)."""
    if os.environ.get("MEDREACH_E2E_SERVER"):
        yield os.environ["MEDREACH_E2E_SERVER"]
        return
    if not DIST.exists():
        pytest.fail("the web UI is not built: run `make build-ui` (make test does it)")
    var = tmp_path_factory.mktemp("e2e-var")
    env = base_env(var, MEDREACH_LOG_JSON="true")
    prepare(env)
    with serving(env, var / "server.log") as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-quic", "--no-first-run", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture(params=["desktop", "phone"])
def page(request, browser, live_server):
    """A fresh browser context per test, at a common laptop size (1366x768) and at a common phone size (390x844)."""
    viewport = VIEWPORTS[request.param]
    context = browser.new_context(viewport=viewport, locale="zh-CN", base_url=live_server)
    context.set_default_timeout(15_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    shots = ROOT / "test-results"
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        shots.mkdir(exist_ok=True)
        pg.screenshot(path=str(shots / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
