"""The control center's widgets and screens: they render snapshots and send commands."""
from jstui.widgets.header import AnswerBanner, StatusHeader
from jstui.widgets.tables import NodesTable, WorkersTable
from jstui.widgets.zones import ZonesBar
from jstui.widgets.sparks import BestSparkline
from jstui.widgets.events import EventLog

__all__ = [
    "AnswerBanner", "StatusHeader", "NodesTable", "WorkersTable", "ZonesBar",
    "BestSparkline", "EventLog",
]
