"""docs/plugins.md documents every hook with its full signature (as Datasette does)."""
import re
from pathlib import Path

import pluggy

from portal import hookspecs

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


def hook_signatures():
    pm = pluggy.PluginManager("portal")
    pm.add_hookspecs(hookspecs)
    return {name: tuple(getattr(pm.hook, name).spec.argnames)
            for name in dir(pm.hook) if name.startswith("portal_")}


def documented_signatures():
    found = re.findall(r"^### `(portal_\w+)\(([^)]*)\)`", DOCS.read_text(), re.M)
    return {name: tuple(a.strip() for a in args.split(",") if a.strip())
            for name, args in found}


def test_every_hook_is_documented_with_its_signature():
    assert hook_signatures() == documented_signatures()


def test_every_hookspec_has_a_docstring():
    for name in hook_signatures():
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name
