"""python -m solver.worker"""
import sys

from solver.worker.main import main

sys.exit(main())
