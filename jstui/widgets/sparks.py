"""The pool best MSE over time, as a one-line sparkline (log scale across decades): the
small screen's chart (from about 140x40 the main screen draws jstui.widgets.chart)."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from jstui.widgets.chart import clip_outliers
from jstui.present import fmt_mse, sparkline, spans_decades
from jstui.widgets.resizing import RerenderOnResize


class BestSparkline(RerenderOnResize, Static):
    def show(self, best_history: tuple[tuple[float, float], ...]) -> None:
        """One bar per new pool best (time is not to scale here), oldest first."""
        self.remember(best_history)
        history = [mse for _, mse in best_history]
        scale = "log" if spans_decades(history) else "lin"
        drawn = clip_outliers(history) if scale == "log" else history
        label = f"pool best ({scale}) "
        span = f"  {fmt_mse(max(history))} → {fmt_mse(history[-1])}" if history else ""
        room = (self.content_size.width or 40) - len(label) - len(span)
        out = Text(no_wrap=True, overflow="crop")
        out.append(label, style="bold")
        out.append(sparkline(drawn, max(4, room)), style="cyan")
        out.append(span)
        self.update(out, layout=False)   # a fixed height (jstui.tcss)
