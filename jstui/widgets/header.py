"""The header: puzzle, target hash, pool best (its age, relative MSE and trend), and the
exact-answer banner."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from jstui.snapshot import Snapshot
from jstui.present import fmt_age, fmt_mse, fmt_trend, short_hash
from jstui.widgets.resizing import RerenderOnResize


class StatusHeader(RerenderOnResize, Static):
    """Three lines: what is being solved; how close the pool is; who acts on it (the
    observer holding the lease) and the commands not yet ended."""

    def show(self, snap: Snapshot, read_only: bool) -> None:
        self.remember(snap, read_only)
        wide = self.app.size.width >= 140
        line1 = Text(no_wrap=True, overflow="ellipsis")
        line1.append("jstui ", style="bold")
        if read_only:   # first: a narrow terminal cuts the end of the line
            line1.append("READ-ONLY ", style="bold magenta")
        line1.append(f"{'puzzle ' if wide else ''}{snap.puzzle or '-'}")
        if not snap.puzzle_is_configured:   # the operator switched away from it
            line1.append(" (not the configured puzzle: p switches)", style="bold yellow")
        elif wide and snap.puzzle_why:
            line1.append(f" ({snap.puzzle_why})", style="dim")
        line1.append("  target ")
        line1.append((snap.target_sha256 or "-") if wide else short_hash(snap.target_sha256),
                     style="cyan")
        line1.append(f"  {snap.solutions:,} solution{'s' * (snap.solutions != 1)}  "
                     f"{'auto-relaunch' if wide else 'auto'} ")
        line1.append("on" if snap.auto_relaunch else "off",
                     style="green" if snap.auto_relaunch else "yellow")
        line2 = Text(no_wrap=True, overflow="ellipsis")
        if snap.pool_error:   # first, so a narrow terminal still shows why
            line2.append(f"pool {snap.pool_error}  ", style="bold red")
        line2.append("best MSE ")
        line2.append(fmt_mse(snap.best_mse), style="bold")
        line2.append(f" ({fmt_age(snap.best_age)} ago)")
        if snap.best_relative is not None:   # how far along: 1 is a random order's scale
            line2.append(f"  relative {snap.best_relative:.2g}")
        if snap.best_trend is not None and not snap.solved:
            line2.append(f" {fmt_trend(snap.best_trend)}",
                         style="green" if snap.best_trend.falling else "yellow")
        line2.append("  ")
        line2.append("answer: ")
        if snap.solved:
            line2.append("FOUND", style="bold black on green")
        elif snap.target_sha256:
            line2.append("not yet", style="yellow")
        else:
            line2.append("no target hash", style="dim")
        if snap.fleet_error:
            line2.append(f"  fleet: {snap.fleet_error}", style="red")
        # a fixed height (jstui.tcss): new text needs no layout pass, which would redraw
        # the whole screen on every refresh
        text = Text("\n", no_wrap=True, overflow="ellipsis").join([line1, line2, acting_line(snap)])
        self.update(text, layout=False)


def acting_line(snap: Snapshot) -> Text:
    """The observer that acts (or that none does), then each command under way or
    waiting, a waiting one with why nobody took it."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append("observer ")
    obs = snap.observer
    if obs is None:
        line.append("none", style="yellow")
    else:
        line.append(obs.line, style="" if obs.live else "yellow")
    for c in snap.commands:
        style = "magenta" if c.status == "claimed" else ("bold yellow" if c.waiting_why else "dim")
        line.append("  ·  ")
        line.append(c.line, style=style)
    return line


class AnswerBanner(Static):
    """Unmissable when the answer lands while the screen watches; hidden otherwise (the
    header says FOUND for a puzzle solved before)."""

    def show(self, snap: Snapshot, landed: bool = True) -> None:
        self.display = snap.solved and landed
        if self.display:
            what = (f"the pool holds the target hash {short_hash(snap.target_sha256, 16)}"
                    if snap.target_sha256 else
                    f"an arrangement reproduces pred exactly (sha256 {short_hash(snap.best_sha256, 16)})")
            self.update(Text(f"★ EXACT ANSWER FOUND: {what} ★", justify="center"))
