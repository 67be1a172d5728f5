"""``portal`` with the ledger test gateway as a plugin: ``python tests/billing_cli.py billing
run --date 2026-12-01``. The billing tests run the real ``portal billing run`` command
this way in subprocesses (two workers at once, or one killed with SIGKILL)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "plugins"))

import portal.plugins  # noqa: E402

portal.plugins.DEFAULT_PLUGINS = (*portal.plugins.DEFAULT_PLUGINS, "ledger_gateway")

from portal.cli import main  # noqa: E402

if __name__ == "__main__":
    start_at = float(os.environ.get("BILLING_START_AT") or 0)  # start workers together
    if start_at:
        import time

        time.sleep(max(0.0, start_at - time.time()))
    main(prog_name="portal")
