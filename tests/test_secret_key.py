"""The secret key signs session cookies: a published or short one lets anyone forge an
operator's session, so the app refuses to start with it outside demo mode (issue #13.9)."""
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from portal import config, create_app

ROOT = Path(__file__).resolve().parent.parent
PORTAL = Path(sys.executable).parent / "portal"  # the installed console script
HINT = 'python -c "import secrets; print(secrets.token_hex(32))"'
ENV_EXAMPLE_KEY = "change-me-to-64-random-hex-characters"


def build(tmp_path, **settings):
    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", **settings})


@pytest.mark.parametrize("key", [ENV_EXAMPLE_KEY, config.DEFAULT_SECRET_KEY, "k",
                                 "x" * 31, "please-change-me-" + "0" * 40])
@pytest.mark.parametrize("mode", [{}, {"DEBUG": True}, {"TESTING": True},
                                  {"DEBUG": True, "TESTING": True}])
def test_known_or_short_keys_are_refused_even_in_debug_or_testing_mode(tmp_path, key, mode):
    with pytest.raises(config.ConfigurationError) as refused:
        build(tmp_path, SECRET_KEY=key, **mode)
    message = str(refused.value)
    assert "PORTAL_SECRET_KEY" in message and HINT in message and "\n" not in message


def test_a_random_key_of_32_bytes_starts_and_demo_mode_allows_the_default(tmp_path):
    assert build(tmp_path, SECRET_KEY=secrets.token_hex(16)).secret_key  # 32 characters
    assert build(tmp_path, SECRET_KEY=secrets.token_bytes(32)).secret_key
    assert build(tmp_path, DEMO=True).secret_key == config.DEFAULT_SECRET_KEY


def test_env_file_example_key_is_refused_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_SECRET_KEY", ENV_EXAMPLE_KEY)
    monkeypatch.setenv("PORTAL_DEBUG", "1")
    monkeypatch.setenv("PORTAL_TESTING", "1")  # passed through as a string: no way around
    with pytest.raises(config.ConfigurationError, match="printed in portal's own files"):
        build(tmp_path)


def _printed_keys():
    """Every literal secret key written in the repository's tracked files."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    pattern = re.compile(r"""PORTAL_SECRET_KEY=["']?([^\s"'`$|{]+)"""
                         r"""|["']SECRET_KEY["']\s*:\s*["']([^"']+)["']"""
                         r"""|DEFAULT_SECRET_KEY\s*=\s*["']([^"']+)["']""")
    found = set()
    for name in files:
        path = ROOT / name
        if path.suffix in {".png", ".mo", ".pdf", ".ico", ".woff2"} or not path.is_file():
            continue
        for match in pattern.finditer(path.read_text(errors="ignore")):
            found.add((name, next(g for g in match.groups() if g)))
    return found


def test_every_key_printed_in_the_repository_is_refused():
    found = _printed_keys()
    assert ("deploy/portal.env.example", ENV_EXAMPLE_KEY) in found  # the grep works
    accepted = [(name, key) for name, key in found if config.secret_key_problem(key) is None]
    assert not accepted, "add these to portal.config.KNOWN_SECRET_KEYS"


def run_portal(*args, **env):
    clean = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run([str(PORTAL), *args], env=clean, capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


@pytest.mark.parametrize("env", [{}, {"PORTAL_SECRET_KEY": ENV_EXAMPLE_KEY},
                                 {"PORTAL_SECRET_KEY": "k", "PORTAL_DEBUG": "1"}])
def test_cli_says_it_in_one_line_and_exits_2_without_a_traceback(tmp_path, env):
    result = run_portal("billing", "run", PORTAL_INSTANCE_PATH=str(tmp_path), **env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Refusing to start: PORTAL_SECRET_KEY")
    assert HINT in lines[0]


def test_cli_runs_with_a_strong_key(tmp_path):
    result = run_portal("init", PORTAL_INSTANCE_PATH=str(tmp_path),
                        PORTAL_SECRET_KEY=secrets.token_hex(32))
    assert result.returncode == 0 and "Database ready" in result.stdout, result.stderr
