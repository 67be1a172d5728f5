"""The operator console: one blueprint, ``operator``, under /operator (rule ACC-2).

Only operators of the deployment get in: ``security.operator_only`` runs before every
route of the blueprint (anonymous -> the login page, anyone else -> 403), so a console
page needs no decorator of its own and cannot forget one.

Where a page goes: in the module named for what it owns, or a new module beside them,
imported at the bottom of this file (e.g. a plans catalogue in ``catalogue.py``,
onboarding in ``onboarding.py``). Write ``@bp.route("/plans")`` (the prefix is added),
name its endpoint ``operator.<function>``, keep its templates under
``templates/operator/``, and add its GET pages to the page walk (tests/support/sweep.py).
The authorization matrix already covers it: ``"operator.*"`` in tests/support/routes.py.

- ``directory``: every account (search, filters, sort); ``accounts``: one account's page
  (its sections: portal/accounts/overview.py, templates/operator/account/), its language
  and API tokens;
- ``onboarding``: a new account with its first subscription, a further subscription, a
  negotiated price (ONB-1, CHG-7); ``on_behalf``: changing a subscription for its account
  (the wizard's review and orders, CHG-7);
- ``billing``: an account's billing details (BIL-1);
- ``inventory``: an account's locations and devices (RMA marks, DEV-3);
- ``notifications``: the outbox and every delivery (retry);
- ``payments``: requests to pay by invoice, grandfathering (PAY-3, PAY-4);
- ``documents``: every account's invoices, a period's zip, credit notes, manual payments;
- ``catalogue``: the plans, their price versions, retiring (CAT-1..CAT-3);
- ``audit``: the audit log;  ``plugins``: the active plugins;
- ``metrics``: MRR, its movements, collection and usage in figures and charts (MET-1, MET-2);
- ``exports``: a period's invoices, credit notes and payments as CSV, for accounting;
- ``provisioning_tokens``: operator tokens for the provisioning API (issue #16.4);
- ``invitations``: an account's "Invite an admin" and its pending invitations (ACC-6).
"""
from flask import Blueprint
from flask_babel import format_datetime

from ...security import operator_only

bp = Blueprint("operator", __name__, url_prefix="/operator")
bp.before_request(operator_only)

PER_PAGE = 100  # rows per page of the console's lists


@bp.context_processor
def _formatting():
    return {"format_datetime": format_datetime}


from . import (accounts, audit, billing, catalogue, directory, documents,  # noqa: E402,F401
               exports, inventory, invitations, metrics, notifications, on_behalf,
               onboarding, payments, plugins, provisioning_tokens)
