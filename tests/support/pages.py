"""Reading what a rendered page shows, for assertions on it."""
import re


def bars(page: str):
    return [(int(u), int(s), st) for u, s, st in re.findall(
        r'data-used="(\d+)" data-subscribed="(\d+)"\s+data-state="(\w+)"', page)]
