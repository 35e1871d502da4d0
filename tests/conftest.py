"""Shared fixtures: real puzzles, a real PostgreSQL, real sshd daemons."""
pytest_plugins = [
    "tests.fixture_puzzles",
    "tests.fixture_pg",
    "tests.fixture_sshd",
]
