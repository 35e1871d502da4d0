"""Every action of the main screen, one record each (harlequin's pattern): the key
bindings, the footer, the help screen, the command palette and the read-only and
no-fleet refusals all read this list. And the parsing of what the operator types."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    key: str
    name: str                      # the App's action_<name>
    label: str                     # in the footer
    description: str               # in the help and the command palette
    changes: bool = False          # changes the fleet or the pool: refused when read-only
    needs_fleet: bool = False      # refused in a pool-only view
    in_footer: bool = True
    looks: bool = False            # only looks at the screen: every screen that shows the
                                   # dashboard has it (the live one and the replay)

    @property
    def key_label(self) -> str:
        return KEY_LABEL.get(self.key, self.key)


KEY_LABEL = {"slash": "/", "question_mark": "?"}

ACTIONS: tuple[Action, ...] = (
    Action("r", "relaunch_node", "relaunch", "relaunch the selected node's workers", True, True),
    Action("R", "relaunch_all", "all", "relaunch all nodes", True, True),
    Action("k", "stop_worker", "stop", "stop the selected worker", True),
    Action("i", "inject", "inject", "inject seeds into the pool (choose the kind)", True),
    Action("s", "surgery", "surgery", "break-point surgery on the pool best", True),
    Action("d", "deploy", "deploy", "deploy the code to every node", True, True, in_footer=False),
    # (the keys a footer of 80 columns cannot hold: in the help and the palette)
    Action("a", "toggle_auto_relaunch", "auto", "toggle auto-relaunch of finished workers",
           True, True, in_footer=False),
    Action("o", "knobs", "knobs", "change the observer knobs", True, in_footer=False),
    Action("l", "tail_log", "log", "tail the selected worker's log"),
    Action("c", "chart", "chart", "large chart of the pool best over time", in_footer=False,
           looks=True),
    Action("p", "switch_puzzle", "puzzle", "switch the puzzle on screen (the pool may hold several)",
           in_footer=False),
    Action("slash", "filter", "filter", "filter workers", in_footer=False, looks=True),
    Action("t", "cycle_sort", "sort", "sort workers by the next column", in_footer=False,
           looks=True),
    Action("question_mark", "help", "help", "this help"),
    Action("q", "quit", "quit", "quit"),
)
BY_NAME = {a.name: a for a in ACTIONS}
LOOKING = tuple(a for a in ACTIONS if a.looks)          # the dashboard's own keys


def parse_positions(text: str) -> list[int] | None:
    """'3,7-9' -> sorted 1-based positions; 'uncertain' (or nothing) -> None, which lets
    the surgery tool pick its window from the uncertain zone and the break points."""
    text = text.strip().lower()
    if text in ("", "uncertain"):
        return None
    out: set[int] = set()
    for part in text.replace(" ", "").split(","):
        try:
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                out.update(range(a, b + 1))
            else:
                out.add(int(part))
        except ValueError:
            raise ValueError(f"positions: {part!r} is not a number or a range like 7-9") from None
    if not out or min(out) < 1:
        raise ValueError("positions start at 1")
    return sorted(out)


def parse_knobs(text: str) -> dict[str, float]:
    knobs = {}
    for part in text.split():
        name, sep, value = part.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            knobs[name] = float(value)
        except ValueError:
            raise ValueError(f"knobs: {part!r} is not name=number") from None
    return knobs
