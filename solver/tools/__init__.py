"""Operator tools fired at the pool: inject, zones, breakpoints, surgery, observe.

Each is a plain function (numbers in, numbers out) plus an async runner that reads and
writes the pool; solver.tools.cli exposes them as `python -m solver TOOL ...`.
"""
