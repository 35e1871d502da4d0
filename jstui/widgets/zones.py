"""Agreement zones: per position, how many of the top-K solutions agree with the best
(the rule of solver.tools.zones, the same as `python -m solver zones`)."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from jstui.widgets.resizing import RerenderOnResize
from solver.tools.zones import (LOCKED, LOCKED_AT, MIN_EVIDENCE, MIXED, UNCERTAIN,
                                UNCERTAIN_BELOW, ZoneMap)

ZONE_STYLE = {LOCKED: "green", MIXED: "yellow", UNCERTAIN: "bold red"}
ZONE_GLYPH = {LOCKED: "█", MIXED: "▓", UNCERTAIN: "░"}


def zones_text(zones: ZoneMap | None, width: int) -> Text:
    if zones is None or not zones.shares:
        return Text("zones: no elite solutions yet", style="dim")
    if not zones.judged:
        # One solution agrees with itself everywhere: that is no evidence, so no colours.
        out = Text("zones ", style="bold")
        out.append("·" * len(zones.shares), style="dim")
        out.append(f"\n{zones.k} solution{'s' * (zones.k != 1)} in the pool: agreement is "
                   f"judged from {MIN_EVIDENCE} on", style="dim")
        return out
    out = Text()
    out.append("zones ", style="bold")
    for zone in zones.zones:
        out.append(ZONE_GLYPH[zone], style=ZONE_STYLE[zone])
    out.append("\n")
    out.append(f"top {zones.k}: ")
    out.append(f"█ locked ≥{LOCKED_AT:.0%}", style=ZONE_STYLE[LOCKED])
    out.append("  ▓ mixed", style=ZONE_STYLE[MIXED])
    out.append(f"  ░ uncertain <{UNCERTAIN_BELOW:.0%}", style=ZONE_STYLE[UNCERTAIN])
    runs = [f"{a}-{b}" if a != b else f"{a}" for a, b, z in zones.runs() if z == UNCERTAIN]
    if runs:
        listing = ",".join(runs)
        room = max(8, width - len(out.plain.split("\n")[-1]) - 4)
        if len(listing) > room:
            listing = listing[: room - 1] + "…"
        out.append(f"  at {listing}", style="red")
    return out


class ZonesBar(RerenderOnResize, Static):
    def show(self, zones: ZoneMap | None) -> None:
        self.remember(zones)
        self.update(zones_text(zones, self.content_size.width or 80), layout=False)
