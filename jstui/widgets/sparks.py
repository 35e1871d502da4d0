"""The pool best MSE over time, as a one-line sparkline (log scale across decades)."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from jstui.widgets.resizing import RerenderOnResize

from jstui.data import fmt_mse, sparkline, spans_decades


class BestSparkline(RerenderOnResize, Static):
    def show(self, history: tuple[float, ...]) -> None:
        self.remember(history)
        scale = "log" if spans_decades(history) else "lin"
        label = f"pool best ({scale}) "
        span = f"  {fmt_mse(max(history))} → {fmt_mse(history[-1])}" if history else ""
        room = (self.content_size.width or 40) - len(label) - len(span)
        out = Text(no_wrap=True, overflow="crop")
        out.append(label, style="bold")
        out.append(sparkline(history, max(4, room)), style="cyan")
        out.append(span)
        self.update(out)
