"""The password policy (rule ACC-8): what a new password must be, wherever it is set.

At least ``MIN_LENGTH`` characters, and not one of the ``COMMON_COUNT`` most common
passwords. The list is the ranked "passwords" frequency list that the ``zxcvbn`` package
ships (``zxcvbn.frequency_lists``, MIT licence; see docs/decisions.md): its first 10,000
entries, compared without regard to case (the list is lower case). Pure Python: the
callers turn the codes into words for people.
"""
from __future__ import annotations

from functools import cache

MIN_LENGTH = 10
MAX_LENGTH = 512  # the login form reads no more
COMMON_COUNT = 10_000

TOO_SHORT, TOO_LONG, TOO_COMMON = "too_short", "too_long", "too_common"


class PasswordRefused(ValueError):
    """A new password the policy refuses; ``code`` says why (one of the codes above)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@cache
def common_passwords() -> frozenset[str]:
    """The 10,000 most common passwords, lower case (loaded once per process)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"][:COMMON_COUNT])


def problem(password: str) -> str | None:
    """Why ``password`` may not be set (a code), or None when the policy accepts it."""
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    if password.lower() in common_passwords():
        return TOO_COMMON
    return None


def check(password: str) -> None:
    """Raise ``PasswordRefused`` unless the policy accepts ``password``."""
    code = problem(password)
    if code:
        raise PasswordRefused(code)
