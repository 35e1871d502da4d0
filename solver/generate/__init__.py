"""Training synthetic dropped-network puzzles with known answers (python -m solver generate).

Writes the public format (shuffled piece_*.pth, historical_data.csv) plus answer.txt,
answer.sha256 and generate.json with the knobs used and the properties measured.
"""
from solver.puzzle.answer import answer_string  # noqa: F401
from solver.generate.files import write_csv, write_pieces  # noqa: F401
from solver.generate.job import generate_puzzle  # noqa: F401
from solver.generate.measure import measure, sort_distance, spearman  # noqa: F401
from solver.generate.recipe import (GENERATOR_VERSION, KINDS, PAIR_BANDS, GenerateError,  # noqa: F401
                                    calibrate_snr, default_train_steps, draw_initial, make_labels,
                                    make_measurements, pair_traces, trace_pair_accuracy, with_damping)
from solver.generate.training import fit_readout, network_forward_torch, train, train_to_pair_target  # noqa: F401
