"""A replay as an asciinema cast (format v2: a JSON header line, then one
`[seconds, "o", text]` line per frame): the replay screen rendered headless, one frame
per step, each a second apart."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import AsyncIterator, Sequence

from rich.console import Console

from jstui.replay.source import ReplaySource

FRAMES_MAX = 1000            # a longer run is stepped coarser, and the export says so
CLEAR, HOME = "\x1b[2J", "\x1b[H"


def frame_times(start: float, end: float, step: float) -> tuple[list[float], float]:
    """The moments rendered, START to END inclusive, and the step actually used."""
    step = max(step, (end - start) / (FRAMES_MAX - 1), 1e-9)
    count = int((end - start) // step) + 1
    times = [start + i * step for i in range(count)]
    if times[-1] < end:
        times.append(end)
    return times, step


def screen_ansi(app) -> str:
    """The screen as terminal output (what Textual's own screenshot export prints, as
    ANSI text instead of SVG); lines end in CR LF, as a terminal receives them."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False,
                      safe_box=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens, simplify=True))
    return console.export_text(styles=True).rstrip("\n").replace("\n", "\r\n")


async def render_frames(source: ReplaySource, times: Sequence[float],
                        size: tuple[int, int]) -> AsyncIterator[str]:
    """The replay screen at each of TIMES, rendered headless at SIZE."""
    from jstui.replay.app import ReplayApp

    source.playing, source.placed = False, True    # the frames are placed here, not played
    app = ReplayApp(source)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for t in times:
            source.t = t
            app.snapshot = await source.frame(t)
            await pilot.pause()
            yield screen_ansi(app)


def cast_header(source: ReplaySource, size: tuple[int, int]) -> dict:
    return {"version": 2, "width": size[0], "height": size[1],
            "timestamp": int(source.run.start), "title": f"jstui replay {source.run.label}",
            "env": {"TERM": "xterm-256color"}}


async def export_cast(source: ReplaySource, out, size: tuple[int, int]) -> tuple[int, float]:
    """Write the cast to the open text file OUT; (frames written, run-seconds per frame)."""
    times, step = frame_times(source.run.start, source.run.end, source.speed)
    out.write(json.dumps(cast_header(source, size)) + "\n")
    count = 0
    async for frame in render_frames(source, times, size):
        data = (CLEAR if count == 0 else "") + HOME + frame
        out.write(json.dumps([float(count), "o", data], ensure_ascii=False) + "\n")
        count += 1
    return count, step


def open_export(path: str):
    """The export file, opened before any rendering: a bad path is one sentence."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise OSError(f"--export {path}: is a directory; name a file (e.g. run.cast)")
    try:
        return open(target, "w", encoding="utf-8")
    except OSError as exc:
        raise OSError(f"--export {path}: cannot write it: {exc.strerror}") from None
