"""The layers are an import contract (issue #14 item 3, DESIGN.md): `.importlinter` at the
repository root, checked by import-linter. The billing engine imports no web framework,
no mail layer and nothing above it; views -> services -> billing -> models -> db."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(*args):
    exe = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(exe), "--no-cache", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_the_import_contracts_hold():
    done = lint_imports()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
    assert "billing engine imports no web framework" in done.stdout  # the contract ran


def test_the_contract_would_catch_billing_reaching_for_the_mail_layer(tmp_path):
    """The contract is not vacuous: the pre-#14 import (billing -> billing_notices ->
    flask_babel, notifications, jobs) written into a copy of the package breaks it."""
    import shutil

    copy = tmp_path / "src"
    shutil.copytree(ROOT / "portal", copy / "portal",
                    ignore=shutil.ignore_patterns("__pycache__", "translations", "static",
                                                  "templates"))
    (copy / "portal" / "billing" / "bad.py").write_text(
        "def send():\n    from ..notifications import notify\n    return notify\n")
    config = tmp_path / "contracts.ini"
    config.write_text((ROOT / ".importlinter").read_text())
    done = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache",
                           "--config", str(config)], cwd=copy, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"})
    assert done.returncode != 0, done.stdout
    assert "portal.billing.bad -> portal.notifications" in done.stdout
