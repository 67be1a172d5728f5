"""Rendered page fragments, kept per worker under everything they are rendered from.

A fragment's key holds the data it shows (the rows as read in this request, the usage,
the language...), not a version number that code must remember to bump: a change to any
of it is a new key, so a stale fragment cannot be found. Old keys are never hit again and
age out of the bounded cache. Each app has its own cache (``app.extensions``).
"""
from __future__ import annotations

import threading

from cachetools import LRUCache
from flask import current_app

EXTENSION = "portal.fragments"
SIZE = 2048  # entries per worker: a few kilobytes each


class FragmentCache:
    """Rendered fragments and what came with them, the least recently used dropped first
    (``cachetools.LRUCache``, behind a lock: its caches are not thread-safe)."""

    def __init__(self, size: int = SIZE):
        self.size = size
        self._entries: LRUCache = LRUCache(maxsize=size)
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_render(self, key, render):
        """The value kept under ``key``; else ``render()``'s, kept for next time."""
        missing = object()
        with self._lock:
            value = self._entries.get(key, missing)  # a hit makes it the most recent
            if value is not missing:
                self.hits += 1
                return value
        value = render()  # outside the lock: two threads may render the same key once each
        with self._lock:
            self.misses += 1
            self._entries[key] = value
        return value


def cache() -> FragmentCache:
    """This app's fragment cache."""
    return current_app.extensions[EXTENSION]


def init_app(app) -> None:
    app.extensions[EXTENSION] = FragmentCache()

