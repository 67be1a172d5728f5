"""The types hold (issue #14 item 6): mypy on the billing engine, the gateway seam, the hook
specs and the plugins, configured in pyproject.toml ([tool.mypy]: the targets and the rules,
docs/decisions.md). Its cache is .mypy_cache at the repository root (git-ignored): a run
after an unchanged tree takes well under a second, a cold one a few seconds."""
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def mypy(*args):
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def configured_files():
    targets = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"]
    return sorted(f for t in targets for f in
                  ([ROOT / t] if t.endswith(".py") else (ROOT / t).rglob("*.py")))


def test_mypy_finds_no_error_in_the_configured_targets():
    done = mypy()
    assert done.returncode == 0, done.stdout + done.stderr
    # every file of the targets was checked (a target that moved would check nothing)
    assert f"no issues found in {len(configured_files())} source files" in done.stdout, done.stdout


def test_mypy_would_catch_a_type_error_in_the_billing_engine(tmp_path):
    """The check is not vacuous: money.py read with a wrongly typed function appended fails
    with the error and its line. It runs on a copy of the cache (warm when the test above
    ran first), so the real one never holds the bad copy."""
    if (ROOT / ".mypy_cache").is_dir():
        shutil.copytree(ROOT / ".mypy_cache", tmp_path / "cache")
    source = ROOT / "portal" / "billing" / "money.py"
    bad = tmp_path / "money.py"
    text = source.read_text()
    bad.write_text(text + '\n\ndef cents_of_nothing() -> int:\n    return "none"\n')
    line = len(text.splitlines()) + 4
    done = mypy("--cache-dir", str(tmp_path / "cache"), "--shadow-file", str(source), str(bad))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"portal/billing/money.py:{line}: error: Incompatible return value type" in done.stdout
