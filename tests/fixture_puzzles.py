"""Test fixtures (puzzles); filled in by its owner."""
