"""Reading what a rendered page shows, and what it cost, for assertions on it."""
import logging
import re
from contextlib import contextmanager


def bars(page: str):
    return [(int(u), int(s), st) for u, s, st in re.findall(
        r'data-used="(\d+)" data-subscribed="(\d+)"\s+data-state="(\w+)"', page)]


class _Counter(logging.Handler):
    """Counts the statements peewee runs (it logs each one at DEBUG)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        self.count += 1


@contextmanager
def counted_queries():
    """``with counted_queries() as counter: ...``; then ``counter.count`` is the number of
    SQL statements peewee ran inside the block."""
    handler, logger = _Counter(), logging.getLogger("peewee")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
