"""Net, tax and gross of the amounts a page shows before any document exists (TAX-1,
TAX-3, SUB-4): the wizard's new price and today's charge, the estimated next charge.

One way to tax: each figure is taxed by the very function that taxes the document it
announces. An estimate is the billing run's invoice (``invoices.Draft.taxed`` on its
lines and payment date); today's charge of a plan change is the order's
(``parties.taxes_on_charge``). The buyer's details are read, and their tax ID checked with
the registry, once per page (``buyer_of``), not once per amount.

With no tax plugin (``tax_none``, TAX-1) every figure has no tax lines and its gross is
its net: the pages then show the single amount they always showed (docs/decisions.md).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..models import Account
from .invoices import Draft, Line
from .money import ZERO
from .parties import buyer_party, taxes_on_charge
from .renewals import NextCharge
from .taxes import Party, Taxed, resolved_buyer


def buyer_of(account: Account) -> Party:
    """The account's billing details with its tax ID checked (once)."""
    return resolved_buyer(buyer_party(account))


def of_lines(account: Account, lines, day: dt.date, *, buyer: Party | None = None) -> Taxed:
    """``lines`` (invoice ``Line``s) taxed as an invoice issued on ``day`` would be."""
    draft = Draft(account, list(lines))
    if not draft.lines:
        return Taxed(ZERO)
    return Taxed(draft.net, list(draft.taxed(day, buyer=buyer or buyer_of(account))))


def of_next_charge(charge: NextCharge, account: Account, *,
                   buyer: Party | None = None) -> Taxed:
    """Rule SUB-4 with taxes: the next charge taxed as the billing run taxes its invoice
    (the same lines, the same date); nothing when the subscription ends first."""
    if charge.ends_on is not None or not charge.lines:
        return Taxed(ZERO)
    return of_lines(account, charge.lines, charge.due_on, buyer=buyer)


def of_next_charges(charges: dict[int, NextCharge], account: Account) -> dict[int, Taxed]:
    """``of_next_charge`` for each of one account's next charges (one buyer read)."""
    if not charges:
        return {}
    buyer = buyer_of(account)
    return {sid: of_next_charge(c, account, buyer=buyer) for sid, c in charges.items()}


def of_charge(account: Account, amount, day: dt.date, *, kind: str = "order",
              buyer: Party | None = None) -> Taxed:
    """A one-off amount (a plan change's prorated charge) taxed as its order taxes it."""
    return Taxed(amount, taxes_on_charge(account, amount, day=day, kind=kind,
                                         buyer=buyer or buyer_of(account)))


@dataclass(frozen=True)
class PreviewTaxes:
    """The wizard's figures with their taxes: the recurring prices before and after the
    change, each taxed as one period's invoice, and what is due today as the order."""

    recurring_before: Taxed
    recurring_after: Taxed
    due_now: Taxed

    @property
    def shown(self) -> bool:
        """Whether any figure carries tax lines (else the pages show the amounts alone)."""
        return any(t.taxes for t in (self.recurring_before, self.recurring_after,
                                     self.due_now))


def _invoice_lines(preview_lines) -> list[Line]:
    return [Line(x.key, x.plan.name, x.quantity, x.unit_price, x.amount)
            for x in preview_lines]


def of_preview(account: Account, preview, today: dt.date) -> PreviewTaxes:
    """The taxes of a change's preview (``billing.changes.Preview``): the new recurring
    price from the day it applies, the current one today, today's charge today."""
    buyer = buyer_of(account)
    after_day = preview.price_from or today
    return PreviewTaxes(
        recurring_before=of_lines(account, _invoice_lines(preview.lines_before), today,
                                  buyer=buyer),
        recurring_after=of_lines(account, _invoice_lines(preview.lines_after), after_day,
                                 buyer=buyer),
        due_now=of_charge(account, preview.due_now, today, buyer=buyer))
