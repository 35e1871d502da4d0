"""`jstui serve` in a real browser: headless Chromium (Debian's package) driven by
Playwright, against a real server process and a real pool.

The terminal is drawn on a canvas, so what the page shows is read from the frames its
websocket receives (the app's output, ANSI stripped) and checked on a screenshot.
JSTUI_UPDATE_SCREENSHOT=1 writes that screenshot to docs/serve.png for the README.
"""
from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from solver.pool import connect
from tests.helpers import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Skipped only off CI: .ci/run installs Debian's chromium, and there a missing browser fails.
needs_chromium = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                    reason="no chromium on PATH (.ci/run installs Debian's "
                                    "chromium package)")
ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>]")
FIRST_PAINT_TARGET_S = 3.0


async def fill_pool(dsn: str, puzzle, answer) -> None:
    store = await connect(dsn, max_size=2)
    try:
        pid = await store.register_puzzle(puzzle, name="served")
        near = list(answer)
        near[0], near[2] = near[2], near[0]   # not the answer: no banner over the header
        await store.submit(puzzle, near, origin="test")
        wid = await store.register_worker(pid, "atlas", 4242)
        await store.heartbeat(wid, run=1, step=10, best_mse=0.5, progress={"evals_per_s": 80.0})
    finally:
        await store.close()


def start_server(*flags: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "jstui", "serve", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 30
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if m := re.search(r"open (http://\S+)", line):
            return proc, m.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("jstui serve did not print its URL:\n" + "".join(lines))


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, 15)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()


@pytest.fixture
def served(fresh_dsn, tiny):
    asyncio.run(fill_pool(fresh_dsn, *tiny))
    proc, url = start_server("--port", str(free_port()), "--pool-only", "--dsn", fresh_dsn)
    yield url
    stop(proc)


@pytest.fixture
async def browser():
    # The async API: the sync one holds an event loop that the pool fixtures' own
    # asyncio.run() would meet.
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        await chromium.close()


class Screen:
    """What the page's terminal received: its websocket frames as text."""

    def __init__(self, page) -> None:
        self.chunks: list[bytes] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self.add))

    def add(self, payload) -> None:
        self.chunks.append(payload if isinstance(payload, bytes) else payload.encode())

    def text(self, since: int = 0) -> str:
        return ANSI.sub(b"", b"".join(self.chunks[since:])).decode("utf-8", "replace")

    async def wait_for(self, *words: str, since: int = 0, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not all(w in self.text(since) for w in words):
            assert time.monotonic() < deadline, f"never shown: {words}\n{self.text(since)[-2000:]}"
            await asyncio.sleep(0.02)


@needs_chromium
async def test_page_loads_with_the_token_and_shows_header_and_workers(served, browser, tmp_path):
    page = await browser.new_page(viewport={"width": 1500, "height": 900})
    screen = Screen(page)
    started = time.perf_counter()
    await page.goto(served)
    loaded = time.perf_counter() - started
    await page.wait_for_selector("body.-first-byte", timeout=15000)
    first_byte = time.perf_counter() - started
    await screen.wait_for("jstui", "workers (sort")   # the app's first frame: header, tables
    first_paint = time.perf_counter() - started
    print(f"\nserve: time to first paint {first_paint:.2f} s (target < {FIRST_PAINT_TARGET_S} s;"
          f" page loaded {loaded:.2f} s, the app's first byte {first_byte:.2f} s)")
    await screen.wait_for("served (N=4)", "atlas", "4242")   # then the pool's rows
    await page.wait_for_timeout(600)   # the terminal fades in (0.3 s) before the picture
    shot = ROOT / "docs" / "serve.png" if os.environ.get("JSTUI_UPDATE_SCREENSHOT") \
        else tmp_path / "serve.png"
    await page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    assert first_paint < 2 * FIRST_PAINT_TARGET_S   # the target, with room for a busy CI box
    await page.close()


@needs_chromium
async def test_without_the_token_it_is_refused(served, browser):
    page = await browser.new_page()
    bare = served.split("?")[0]
    for url in (bare, bare + "?token=wrong", bare + "static/js/textual.js", bare + "ws"):
        response = await page.goto(url)
        assert response.status == 403, url
        assert "access token" in await page.content()
    await page.close()


@needs_chromium
async def test_a_key_in_a_read_only_session_is_refused_and_says_so(served, browser):
    page = await browser.new_page(viewport={"width": 1200, "height": 800})
    screen = Screen(page)
    await page.goto(served)
    await screen.wait_for("READ-ONLY", "atlas")
    mark = len(screen.chunks)
    await page.mouse.click(600, 300)   # the terminal takes the keys once clicked
    await asyncio.sleep(0.3)
    await page.keyboard.press("i")
    await screen.wait_for("read-only: inject refused", since=mark)
    assert "allow-actions" in screen.text(mark)
    await page.close()


def test_a_port_in_use_is_one_sentence_and_exit_2(capsys):
    from jstui.__main__ import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"--port: cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err


def test_the_served_command_is_read_only_unless_actions_are_allowed():
    from jstui.__main__ import parser
    from jstui.serve import app_command

    args = parser().parse_args(["serve", "--pool-only", "--dsn", "postgresql://h/db"])
    assert app_command(args).endswith("--dsn postgresql://h/db --pool-only --read-only")
    args = parser().parse_args(["serve", "--allow-actions"])
    assert "--read-only" not in app_command(args)
    assert "--keep-running --keep-pool" in app_command(args)
