"""Errors of the pool store, each a one-sentence message for the operator."""


class PoolError(Exception):
    """The database cannot be used (unreachable, wrong schema, bad DSN)."""


class SubmissionRefused(PoolError):
    """A solution was refused at the door; nothing stored was touched."""
