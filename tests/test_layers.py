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


def lint_a_copy_with(tmp_path, module: str, code: str):
    """import-linter run on a copy of the package where ``module`` (a path under portal/)
    gets ``code`` appended: what the contracts say of that import."""
    import shutil

    copy = tmp_path / "src"
    shutil.copytree(ROOT / "portal", copy / "portal",
                    ignore=shutil.ignore_patterns("__pycache__", "translations", "static",
                                                  "templates"))
    target = copy / "portal" / module
    target.write_text((target.read_text() if target.exists() else "") + code)
    config = tmp_path / "contracts.ini"
    config.write_text((ROOT / ".importlinter").read_text())
    return subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache",
                           "--config", str(config)], cwd=copy, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"})


def test_the_contract_would_catch_billing_reaching_for_the_mail_layer(tmp_path):
    """The contract is not vacuous: the pre-#14 import (billing -> billing_notices ->
    flask_babel, notifications, jobs) written into a copy of the package breaks it."""
    done = lint_a_copy_with(tmp_path, "billing/bad.py",
                            "def send():\n    from ..notifications import notify\n"
                            "    return notify\n")
    assert done.returncode != 0, done.stdout
    assert "portal.billing.bad -> portal.notifications" in done.stdout


def test_the_mail_layer_stays_below_the_views_because_jobs_never_builds_the_app(tmp_path):
    """The mail layer (notifications) is among the services because it queues through
    portal.jobs, which no longer builds the app: portal.worker, the huey consumer's entry
    point, does. The pre-worker import (jobs -> create_app, which imports every view)
    written back into a copy breaks the layers: notifications -> jobs -> portal -> views."""
    done = lint_a_copy_with(tmp_path, "jobs.py",
                            "\ndef _build():\n    from . import create_app\n"
                            "    return create_app()\n")
    assert done.returncode != 0, done.stdout
    assert "portal.notifications is not allowed to import portal.views" in done.stdout
    assert "portal.jobs -> portal (" in done.stdout
