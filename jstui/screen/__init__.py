"""The main screen's piece that the live control center (jstui.app) and the replay
(jstui.replay.app) both show: the dashboard of panels and its looking keys, and the way
an app is fed snapshots and renders them."""
