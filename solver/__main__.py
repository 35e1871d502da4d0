"""python -m solver"""
import sys

from solver.cli.main import main

sys.exit(main())
