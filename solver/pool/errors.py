"""Errors of the pool store, each a one-sentence message for the operator."""


class PoolError(Exception):
    """The database cannot be used (unreachable, wrong schema, bad DSN)."""


class SubmissionRefused(PoolError):
    """A solution was refused at the door; nothing stored was touched."""


class UnknownRow(PoolError, KeyError):
    """A write addressed to a row id the pool does not hold (a worker, a command, an
    intervention). Every store raises it for every such write; reads of one row by an
    unknown id return None instead."""

    def __init__(self, table: str, row_id) -> None:
        super().__init__(f"the pool has no {table} #{row_id}")
        self.table, self.row_id = table, row_id

    def __str__(self) -> str:
        return self.args[0]
