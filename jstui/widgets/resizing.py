"""Widgets whose text depends on their width redraw their last data when resized."""
from __future__ import annotations


class RerenderOnResize:
    """Mixin: `show(*args)` is remembered and replayed on every resize."""

    _last_show: tuple | None = None

    def remember(self, *args) -> None:
        self._last_show = args

    def on_resize(self) -> None:
        if self._last_show is not None:
            self.show(*self._last_show)
