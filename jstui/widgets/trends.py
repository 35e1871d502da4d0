"""Beside the chart: one sparkline per worker, its best MSE over the last minutes."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from jstui.snapshot import WorkerView
from jstui.present import WORKER_STYLE, fmt_mse, sparkline
from jstui.widgets.resizing import RerenderOnResize


class WorkerTrends(RerenderOnResize, Static):
    def show(self, workers: tuple[WorkerView, ...]) -> None:
        self.remember(workers)
        width = self.content_size.width or 36
        height = self.content_size.height or 10
        lines = []
        for w in workers[:max(1, height)]:
            name = f"{w.node}:{w.pid or '-'}"[:14]
            best = fmt_mse(w.best_mse)
            room = max(4, width - 14 - len(best) - 3)
            line = Text(f"{name:<14} ", style=WORKER_STYLE.get(w.state, ""), no_wrap=True)
            line.append(sparkline(w.history, room).ljust(room), style="cyan")
            line.append(f" {best}")
            lines.append(line)
        if not lines:
            lines = [Text("no worker has reported yet", style="dim")]
        self.update(Text("\n").join(lines), layout=False)   # sized by jstui.tcss
