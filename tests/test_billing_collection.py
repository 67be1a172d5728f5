"""Charges, receipts, dunning and gateway faults: never a double charge, nothing lost."""
import datetime as dt
from decimal import Decimal

import pytest
from playhouse.db_url import connect

from portal.billing import collection, dunning
from portal.billing import invoices as billing
from portal.db import retrying, write_transaction
from portal.gateways import Gateway, Result, Status
from portal.hookspecs import hookimpl
from portal.models import (Account, AuditEvent, BillingAdjustment, Charge, Delivery, Invoice,
                           OutboxMessage, Receipt, Subscription)
from support.billing import (DEC1, LedgerGateway, LedgerPlugin, account, add_card, cards_for_demo,
                             invoices_of, make_due, registered, run)

D = dt.date


def outbox(kind, acct=None):
    query = OutboxMessage.select().where(OutboxMessage.kind == kind)
    if acct is not None:
        query = query.where(OutboxMessage.account == acct.id)
    return list(query.order_by(OutboxMessage.id))


def test_approved_charge_issues_a_receipt_and_tells_the_admins(app_ctx):
    cards_for_demo()
    report = run(app_ctx, DEC1)
    invoices = list(Invoice.select())
    assert len(invoices) == report.invoiced == report.paid
    for invoice in invoices:
        [charge] = invoice.charges
        assert charge.status == "approved" and charge.amount == invoice.total
        assert charge.idempotency_key.startswith(f"{invoice.number}-1-")
        receipt = Receipt.get(Receipt.invoice == invoice.id)
        assert receipt.amount == invoice.total and receipt.charge_id == charge.id
        assert "Visa ending 1881" in receipt.method
    north = account("Northwind Retail")
    mails = outbox("receipt_ready", north)
    assert len(mails) == len(invoices_of(north))
    assert mails[0].recipients == "admin@northwind.example"  # admins only, not members
    assert "RCT-" in mails[0].subject and "$" in mails[0].body


def test_the_idempotency_key_is_committed_before_the_gateway_is_called(app_ctx):
    seen = []
    url = app_ctx.config["DATABASE_URL"]

    class Peeking(Gateway):
        name = "peeking"

        def charge(self, token, amount, idempotency_key):
            other = connect(url)  # another connection sees only what is committed
            try:
                seen.append(other.execute_sql(
                    f"SELECT status, amount FROM charge WHERE idempotency_key = {other.param}",
                    (idempotency_key,)).fetchone())
            finally:
                other.close()
            return Result(Status.APPROVED, "ok", transaction_id="t1")

    class Plugin:
        @hookimpl
        def portal_register_gateways(self, register, config):
            register(Peeking())

    corner = account("Corner Bakeries")
    add_card(corner, gateway="peeking")
    with registered(app_ctx, Plugin(), "peeking"):
        run(app_ctx, DEC1)
    [invoice] = invoices_of(corner)
    assert seen == [("pending", 4500)] and invoice.total == Decimal("45.00")
    assert invoice.status == "paid"


def declining_plugin(bad_prefix="bad"):
    """A card gateway that declines tokens starting with ``bad_prefix``."""

    class Declining(Gateway):
        name = "cards"
        calls = []

        def charge(self, token, amount, idempotency_key):
            self.calls.append((token, amount, idempotency_key))
            if token.startswith(bad_prefix):
                return Result(Status.DECLINED, "Insufficient Funds")
            return Result(Status.APPROVED, "Approved", transaction_id=f"t{len(self.calls)}")

        def find_by_idempotency_key(self, key):
            return Result(Status.UNKNOWN, "none", extra={"found": False})

    class Plugin:
        gateway = Declining()

        @hookimpl
        def portal_register_gateways(self, register, config):
            register(self.gateway)

    return Plugin()


def test_declines_follow_the_dunning_schedule_then_the_account_is_past_due(app_ctx):
    corner = account("Corner Bakeries")
    add_card(corner, gateway="cards", token="bad_card")
    plugin = declining_plugin()
    with registered(app_ctx, plugin, "cards"):
        run(app_ctx, DEC1)
        [invoice] = invoices_of(corner)
        # Default PORTAL_DUNNING_DAYS 3,5,7: days between a failure and the next retry.
        expected = [(D(2026, 12, 4), 1), (D(2026, 12, 9), 2), (D(2026, 12, 16), 3)]
        for retry_on, step in expected:
            invoice = Invoice.get_by_id(invoice.id)
            assert (invoice.status, invoice.next_attempt_on, invoice.dunning_step) == (
                "dunning", retry_on, step)
            assert Account.get_by_id(corner.id).status == "active"
            assert len(outbox("payment_failed", corner)) == step  # one mail per failure
            run(app_ctx, retry_on - dt.timedelta(days=1))  # not due yet: nothing happens
            assert Invoice.get_by_id(invoice.id).dunning_step == step
            run(app_ctx, retry_on)
        invoice = Invoice.get_by_id(invoice.id)
        assert (invoice.status, invoice.next_attempt_on, invoice.dunning_step) == (
            "dunning", None, 4)
        assert Account.get_by_id(corner.id).status == "past_due"
        mails = outbox("payment_failed", corner)
        assert len(mails) == 4 and "past due" in mails[-1].body
        assert "Insufficient Funds" in mails[-1].body
        assert len(plugin.gateway.calls) == 4  # one charge per attempt, each its own key
        assert len({key for _, _, key in plugin.gateway.calls}) == 4
        run(app_ctx, D(2026, 12, 30))  # exhausted: no more automatic attempts
        assert len(plugin.gateway.calls) == 4
        # The admin updates the card and pays now: paid, receipt, account active again.
        add_card(corner, gateway="cards", token="good_card")
        [final] = renewals_pay_now(app_ctx, corner)
        assert final.outcome == "paid"
    assert Invoice.get_by_id(invoice.id).status == "paid"
    assert Account.get_by_id(corner.id).status == "active"
    assert Receipt.get(Receipt.invoice == invoice.id).amount == invoice.total


DEC20 = D(2026, 12, 20)


def renewals_pay_now(app, acct, day=DEC20):
    from portal.billing import renewals
    from portal.plugins import plugin_manager

    return renewals.pay_now(acct.id, day=day, pm=plugin_manager(app), config=app.config)


def test_dunning_schedule_comes_from_configuration(app_ctx):
    corner = account("Corner Bakeries")
    add_card(corner, gateway="cards", token="bad_card")
    days = ("1", "2")
    with registered(app_ctx, declining_plugin(), "cards"):
        run(app_ctx, DEC1, DUNNING_DAYS=days)
        [invoice] = invoices_of(corner)
        assert Invoice.get_by_id(invoice.id).next_attempt_on == D(2026, 12, 2)
        run(app_ctx, D(2026, 12, 2), DUNNING_DAYS=days)
        assert Invoice.get_by_id(invoice.id).next_attempt_on == D(2026, 12, 4)
        run(app_ctx, D(2026, 12, 4), DUNNING_DAYS=days)
    assert Account.get_by_id(corner.id).status == "past_due"
    assert Invoice.get_by_id(invoice.id).dunning_step == 3
    with pytest.raises(ValueError, match="PORTAL_DUNNING_DAYS"):
        dunning.retry_days({"DUNNING_DAYS": ("3", "soon")})
    with pytest.raises(ValueError, match="at least 1 day"):
        dunning.retry_days({"DUNNING_DAYS": "3,0"})


def test_no_card_on_file_is_a_failed_payment_with_its_reason(app_ctx):
    corner = account("Corner Bakeries")
    run(app_ctx, DEC1)
    [invoice] = invoices_of(corner)
    assert invoice.status == "dunning" and not list(invoice.charges)
    [mail] = outbox("payment_failed", corner)
    assert "There is no card on file" in mail.body and "Dec 4, 2026" in mail.body


def test_manual_payment_method_leaves_the_invoice_to_an_operator(app_ctx):
    corner = account("Corner Bakeries")
    add_card(corner, gateway="manual", token="manual-corner", brand="", last4="")
    report = run(app_ctx, DEC1)
    [invoice] = invoices_of(corner)
    assert invoice.status == "open" and report.awaiting_transfer == 1
    assert invoice.due_on == DEC1 + dt.timedelta(days=30)
    assert not list(invoice.charges)
    [mail] = outbox("invoice_issued", corner)
    assert invoice.number in mail.body and "bank transfer" in mail.body
    with pytest.raises(billing.BillingError) as refused:
        billing.mark_paid(invoice, reference=" ", day=D(2026, 12, 12))
    assert refused.value.code == "reference_missing"
    with write_transaction():
        receipt = billing.mark_paid(invoice, reference="BANK-4471", day=D(2026, 12, 12))
    assert receipt.amount == invoice.total and receipt.reference == "BANK-4471"
    assert Invoice.get_by_id(invoice.id).status == "paid"
    with pytest.raises(billing.BillingError):
        billing.mark_paid(Invoice.get_by_id(invoice.id), reference="again", day=DEC1)


# --- unknown outcomes: reconcile, never re-send blindly ------------------------------------

def ledger(app, tmp_path, **faults):
    gateway = LedgerGateway(tmp_path / "ledger.sqlite3", **faults)
    return gateway, registered(app, LedgerPlugin(gateway), "ledger")


def test_charge_made_but_unanswered_is_found_by_its_key_and_paid_once(app_ctx, tmp_path):
    ids = make_due(5, DEC1, gateway="ledger")
    gateway, plugin = ledger(app_ctx, tmp_path, fault_rate=1.0, faults=("after", "unknown"))
    with plugin:
        report = run(app_ctx, DEC1)
    assert report.paid == len(ids)
    rows = gateway.rows()
    assert len(rows) == len(ids)  # one charge each: the lookup found it, nothing re-sent
    for invoice in Invoice.select().where(Invoice.subscription.in_(ids)):
        [charge] = invoice.charges
        assert charge.status == "approved" and charge.calls == 1
        assert invoice.status == "paid"


def test_charge_lost_before_the_gateway_is_held_then_resent_with_the_same_key(app_ctx,
                                                                               tmp_path):
    [sub_id] = make_due(1, DEC1, gateway="ledger")
    gateway, plugin = ledger(app_ctx, tmp_path, fault_rate=1.0, faults=("before",))
    with plugin:
        run(app_ctx, DEC1)
        invoice = Invoice.get(Invoice.subscription == sub_id)
        [charge] = invoice.charges
        assert invoice.status == "held" and charge.status == "unknown"
        assert charge.idempotency_key in invoice.hold_reason
        assert "looks it up" in invoice.hold_reason
        # The next run, too soon after the call: the charge may still be in flight.
        run(app_ctx, D(2026, 12, 2))
        assert Invoice.get_by_id(invoice.id).status == "held" and gateway.rows() == []
        with pytest.raises(billing.BillingError) as refused:  # no manual payment on top
            billing.mark_paid(Invoice.get_by_id(invoice.id), reference="x", day=DEC1)
        assert refused.value.code == "charge_in_flight"
        assert renewals_pay_now(app_ctx, Account.get_by_id(invoice.account_id)) == []
        # Later: the lookup still finds nothing under the key, so it is sent again, same key.
        gateway.fault_rate = 0.0
        report = run(app_ctx, D(2026, 12, 2), BILLING_RECONCILE_AFTER=0)
    assert report.reconciled == 1 and report.paid == 1
    charge = Charge.get_by_id(charge.id)
    assert (charge.status, charge.calls) == ("approved", 2)
    assert [row[0] for row in gateway.rows()] == [charge.idempotency_key]
    assert Invoice.get_by_id(invoice.id).status == "paid"


def test_failing_lookups_keep_the_invoice_held_until_the_gateway_answers(app_ctx, tmp_path):
    [sub_id] = make_due(1, DEC1, gateway="ledger")
    gateway, plugin = ledger(app_ctx, tmp_path, fault_rate=1.0, faults=("unknown",),
                             lookup_fault_rate=1.0)
    with plugin:
        run(app_ctx, DEC1)
        invoice = Invoice.get(Invoice.subscription == sub_id)
        assert invoice.status == "held" and "lookup failed" in invoice.hold_reason
        run(app_ctx, D(2026, 12, 2), BILLING_RECONCILE_AFTER=0)
        assert Invoice.get_by_id(invoice.id).status == "held"
        gateway.lookup_fault_rate = gateway.fault_rate = 0.0
        run(app_ctx, D(2026, 12, 3), BILLING_RECONCILE_AFTER=0)
    [charge] = Invoice.get_by_id(invoice.id).charges
    assert Invoice.get_by_id(invoice.id).status == "paid"
    assert charge.calls == 1 and len(gateway.rows()) == 1  # found, never sent twice


def test_gateway_faults_at_a_rate_never_charge_twice_and_lose_nothing(app_ctx, tmp_path):
    ids = make_due(40, DEC1, gateway="ledger")
    # One in five is declined (2000-2999 in the double, as in Braintree's sandbox).
    declined = set(ids[::5])
    for sub_id in declined:
        sub = Subscription.get_by_id(sub_id)
        BillingAdjustment.create(account=sub.account_id, subscription=sub, kind="proration",
                                 description="large one-off", amount=Decimal("2100.00"))
    gateway, plugin = ledger(app_ctx, tmp_path, fault_rate=0.4, lookup_fault_rate=0.3, seed=7)
    due = Subscription.select().where(Subscription.next_payment_date <= DEC1).count()
    with plugin:
        report = run(app_ctx, DEC1)
        assert report.invoiced == due
        assert report.held > 0 and report.paid > 0  # the faults did happen
        check_no_double_charge(gateway)
        for invoice in Invoice.select():
            assert invoice.status in ("paid", "dunning", "held")
            if invoice.status == "held":
                assert invoice.hold_reason
        for day in range(2, 12):  # later runs reconcile, with the faults still on
            run(app_ctx, D(2026, 12, day), BILLING_RECONCILE_AFTER=0)
            check_no_double_charge(gateway)
            if not Invoice.select().where(Invoice.status == "held").exists():
                break
    by_sub = {i.subscription_id: i for i in Invoice.select().where(Invoice.subscription.in_(ids))}
    assert set(by_sub) == set(ids)  # nothing lost, each billed once
    assert Invoice.select().count() == due
    approved = {}
    for key, cents, status, _ in gateway.rows():
        if status == "approved":
            approved.setdefault(key.rsplit("-", 2)[0], []).append(cents)
    for sub_id, invoice in by_sub.items():
        if sub_id in declined:
            assert invoice.status == "dunning" and invoice.number not in approved
        else:
            assert invoice.status == "paid"
            assert approved[invoice.number] == [int(invoice.total * 100)]
            assert Receipt.get(Receipt.invoice == invoice.id).amount == invoice.total


def check_no_double_charge(gateway):
    """At most one approved charge per invoice at the gateway, and every approved charge
    belongs to an invoice that is paid or still being reconciled."""
    approved = {}
    for key, _, status, _ in gateway.rows():
        if status == "approved":
            number = key.rsplit("-", 2)[0]
            approved[number] = approved.get(number, 0) + 1
    assert all(n == 1 for n in approved.values()), approved
    statuses = {i.number: i.status for i in Invoice.select()}
    assert all(statuses[n] in ("paid", "held") for n in approved)


def test_notifications_are_sent_once_even_when_a_run_is_repeated(app_ctx):
    corner = account("Corner Bakeries")
    run(app_ctx, DEC1)
    run(app_ctx, DEC1)
    assert len(outbox("payment_failed", corner)) == 1
    assert Delivery.select().where(Delivery.kind == "payment_failed").count() >= 1


@pytest.mark.parametrize("settled", ["paid", "credited"])
def test_a_charge_approved_on_an_invoice_settled_meanwhile_is_flagged_for_a_refund(
        app_ctx, tmp_path, settled):
    """One charge settled alone and one in a batch write the same audit entry, and
    neither issues a receipt for an invoice nobody owes any more."""
    make_due(2, DEC1, gateway="ledger")
    gateway, plugin = ledger(app_ctx, tmp_path, fault_rate=1.0, faults=("before",))
    with plugin:
        run(app_ctx, DEC1)
    held = list(Invoice.select().where(Invoice.status == "held").order_by(Invoice.id))
    assert len(held) == 2
    # settled meanwhile by other means (a transfer, a credit note) while the charges,
    # unanswered, turn out approved after all
    Invoice.update(status=settled).where(Invoice.id.in_([i.id for i in held])).execute()
    charges = [invoice.charges[0] for invoice in held]
    approved = collection.Verdict("approved", "Approved", "tx-late")
    alone = retrying(collection.settle, charges[0].id, approved, day=DEC1,
                     config=app_ctx.config)
    [batched] = retrying(collection.settle_approved, [(charges[1].id, approved)], day=DEC1)
    assert alone.outcome == batched.outcome == settled
    for invoice, charge in zip(held, charges, strict=True):
        assert Invoice.get_by_id(invoice.id).status == settled
        assert not Receipt.select().where(Receipt.invoice == invoice.id).exists()
        assert Charge.get_by_id(charge.id).status == "approved"
    refunds = [e.detail for e in AuditEvent.select()
               .where(AuditEvent.action == "charge.double_payment").order_by(AuditEvent.id)]
    assert refunds == [f"{charge.idempotency_key} approved on {invoice.number}, already "
                       f"{settled}: refund {charge.amount}"
                       for invoice, charge in zip(held, charges, strict=True)]
