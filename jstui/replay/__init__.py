"""`jstui replay`: a past run played back from what the pool holds, on the live screen.

run.py loads a run once into arrays indexed by time (the worker samples of a moment are
read as it is shown); frames.py puts the screen at time t
together from them (pure, as jstui.assemble is); source.py is the snapshot source that
plays, pauses, steps and seeks; app.py the screen's replay keys and timeline; cast.py the
asciinema export; cli.py the command.
"""
