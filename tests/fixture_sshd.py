"""Test fixtures (sshd); filled in by its owner."""
