"""Nodes and workers tables, updated in place by row key so focus and cursor stay put."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from jstui.snapshot import NodeView, WorkerView
from jstui.textfit import clip
from jstui.widgets.columns import WORKER_COLUMNS, worker_cells
from jstui.present import fmt_age, fmt_rate


class KeyedTable(DataTable):
    """A DataTable fed whole row lists; it changes only the cells that changed."""

    COLUMNS: tuple[tuple[str, str], ...] = ()   # (key, label)

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._cells: dict[str, tuple] = {}

    def on_mount(self) -> None:
        for key, label in self.COLUMNS:
            self.add_column(label, key=key)

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # the cursor points past a row that just went away
            return None

    def sync(self, rows: list[tuple[str, tuple]]) -> None:
        keys = [k for k, _ in rows]
        current = [r.key.value for r in self.ordered_rows]
        wanted, have = set(keys), set(current)
        kept = [k for k in current if k in wanted]
        if kept != [k for k in keys if k in have] or keys[:len(kept)] != kept:
            self._rebuild(rows)
            return
        for k in current:
            if k not in wanted:
                self.remove_row(k)
                self._cells.pop(k, None)
        col_keys = [c for c, _ in self.COLUMNS]
        for k, cells in rows:
            if k not in have:
                self.add_row(*cells, key=k)
            else:
                old = self._cells.get(k, ())
                for i, (col, cell) in enumerate(zip(col_keys, cells)):
                    if i >= len(old) or old[i] != cell:
                        self.update_cell(k, col, cell, update_width=True)
            self._cells[k] = cells

    def _rebuild(self, rows: list[tuple[str, tuple]]) -> None:
        """Only when the order changed (a new sort): keep the cursor on the same row."""
        selected = self.selected_key
        self.clear()
        self._cells = {}
        for k, cells in rows:
            self.add_row(*cells, key=k)
            self._cells[k] = cells
        if selected is not None and selected in self._cells:
            self.move_cursor(row=self.get_row_index(selected), scroll=False)


NODE_STYLE = {"up": "green", "slow": "yellow", "connecting": "yellow", "down": "bold red",
              "idle": "dim"}
REASON_WIDTH = 60   # the whole reason goes to the event log when a node goes down


class NodesTable(KeyedTable):
    # The reason comes last: however long, it never pushes the figures out of view.
    COLUMNS = (("node", "node"), ("state", "state"), ("workers", "workers"),
               ("load", "load"), ("rate", "evals/s"), ("beat", "heartbeat"), ("why", "why"))

    def show(self, nodes: tuple[NodeView, ...]) -> None:
        self.sync([(n.name, node_cells(n)) for n in nodes])


def node_cells(n: NodeView) -> tuple:
    short = n.workers_running < n.workers_expected
    return (
        n.name,
        Text(n.state, style=NODE_STYLE.get(n.state, "")),
        Text(f"{n.workers_running}/{n.workers_expected}", style="yellow" if short else ""),
        "-" if n.load is None else f"{n.load:.2f}",
        fmt_rate(n.evals_per_s),
        fmt_age(n.heartbeat_age),
        Text(clip(n.reason, REASON_WIDTH), style=NODE_STYLE.get(n.state, "") if n.reason else ""),
    )


class WorkersTable(KeyedTable):
    COLUMNS = tuple((c.key, c.label) for c in WORKER_COLUMNS)

    def show(self, workers: list[WorkerView]) -> None:
        self.sync([(w.key, worker_cells(w)) for w in workers])
