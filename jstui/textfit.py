"""Fitting text into a table cell or a line: cut at a word boundary, and say so with '…'."""
from __future__ import annotations


def clip(text: str, width: int) -> str:
    """TEXT on one line in at most WIDTH characters; a cut ends at a word and with '…'
    (inside a word only when the first word alone is longer than half the room)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, width)
    if cut < width // 2:
        cut = width - 1
    return text[:cut].rstrip(" ,;:") + "…"
