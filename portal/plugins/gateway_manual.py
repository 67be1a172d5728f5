"""The ``manual`` gateway: pay by invoice and bank transfer (rules PAY-3, PAY-4).

Nothing is stored at a gateway and nothing is charged automatically: the portal keeps
an approved manual method as a ``PaymentMethod`` (gateway ``manual``), invoices are
sent, and an operator marks them paid when the transfer arrives. An account admin
requests the method (portal/payments/ checks PAY-3) and an operator approves it.
"""
from __future__ import annotations

from ..gateways import Gateway, Result, Status, unsupported
from ..hookspecs import hookimpl


class ManualGateway(Gateway):
    name = "manual"
    label = "Invoice (bank transfer)"
    accepted_brands = ()
    takes_cards = False

    def remove(self, token):
        return Result(Status.APPROVED, "Nothing stored at a gateway")

    def charge(self, token, amount, idempotency_key):
        return unsupported("automatic charges: the invoice is paid by bank transfer and "
                           "marked paid by an operator")


_instance = ManualGateway()


@hookimpl(trylast=True)
def portal_register_gateways(register, config):
    register(_instance)
