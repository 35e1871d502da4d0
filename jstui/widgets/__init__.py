"""The control center's widgets and screens: they render snapshots and send commands.

Loaded on first use, so that `jstui.present` serves the shell commands without
importing Textual.
"""
_WIDGETS = {
    "AnswerBanner": "header", "StatusHeader": "header", "NodesTable": "tables",
    "WorkersTable": "tables", "ZonesBar": "zones", "BestSparkline": "sparks",
    "EventLog": "events", "BestChart": "chart", "WorkerTrends": "trends",
}

__all__ = list(_WIDGETS)


def __getattr__(name):
    if name in _WIDGETS:
        import importlib

        return getattr(importlib.import_module(f"jstui.widgets.{_WIDGETS[name]}"), name)
    raise AttributeError(name)
