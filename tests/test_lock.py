"""The lock files (issue 14 item 7) stay in step with pyproject.toml.

``make install`` / ``make install-test`` install exactly requirements.lock /
requirements-test.lock (``--require-hashes``) and then portal itself with ``--no-deps``, so a
dependency added to pyproject.toml without ``make lock`` would simply be missing. These
checks name it instead, and that the two files agree on every package they share.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(r) for r in PROJECT["dependencies"]]
TEST = [Requirement(r) for r in PROJECT["optional-dependencies"]["test"]]


def pins(name: str) -> dict[str, set[str]]:
    """{package: its pinned versions (several where they differ by marker)} of a lock file;
    fails if a pin is not ``==`` or carries no hash."""
    text = (ROOT / name).read_text()
    found: dict[str, set[str]] = {}
    for entry in re.split(r"\n(?=\S)", text):
        if entry.startswith("#") or not entry.strip():
            continue
        requirement = Requirement(entry.split("\\", 1)[0].strip())
        [spec] = requirement.specifier
        assert spec.operator == "==", f"{name}: {entry.splitlines()[0]} is not pinned"
        assert "--hash=sha256:" in entry, f"{name}: {requirement.name} has no hash"
        found.setdefault(canonicalize_name(requirement.name), set()).add(spec.version)
    return found


@pytest.mark.parametrize("lock, requirements", [
    ("requirements.lock", RUNTIME),
    ("requirements-test.lock", RUNTIME + TEST),
])
def test_every_dependency_is_pinned_within_its_range(lock, requirements):
    locked = pins(lock)
    wrong = []
    for requirement in requirements:
        versions = locked.get(canonicalize_name(requirement.name))
        if not versions:
            wrong.append(f"{requirement.name} is missing")
        elif not all(requirement.specifier.contains(v, prereleases=True) for v in versions):
            wrong.append(f"{requirement.name} {sorted(versions)} is outside {requirement}")
    assert not wrong, f"{lock} is older than pyproject.toml (run  make lock): {wrong}"


def test_the_runtime_lock_is_the_test_lock_without_the_test_packages():
    runtime, test = pins("requirements.lock"), pins("requirements-test.lock")
    assert set(runtime) < set(test)
    assert {name: runtime[name] for name in runtime} == {name: test[name] for name in runtime}


def test_every_dependency_is_capped_below_its_next_major():
    """Like the others, weasyprint and gunicorn get an upper bound (issue 14 item 7)."""
    uncapped = [str(r) for r in RUNTIME if not any(s.operator == "<" for s in r.specifier)]
    assert not uncapped
