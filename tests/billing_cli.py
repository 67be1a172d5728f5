"""``portal`` with the ledger test gateway as a plugin: ``python tests/billing_cli.py billing
run --date 2026-12-01``. The billing tests run the real ``portal billing run`` command
this way in subprocesses (two workers at once, or one killed with SIGKILL)."""
import os

import portal.plugins
from portal.cli import main

# tests/ is this script's directory, so on sys.path: the support package imports as such.
portal.plugins.DEFAULT_PLUGINS = (*portal.plugins.DEFAULT_PLUGINS, "support.ledger_gateway")

if __name__ == "__main__":
    start_at = float(os.environ.get("BILLING_START_AT") or 0)  # start workers together
    if start_at:
        import time

        time.sleep(max(0.0, start_at - time.time()))
    main(prog_name="portal")
