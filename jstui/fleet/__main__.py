"""python -m jstui.fleet status|deploy|launch|stop|relaunch|logs|check"""
import sys

from jstui.fleet.cli import main

sys.exit(main())
