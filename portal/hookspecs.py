"""Every plugin hook of the portal. Each docstring is the hook's reference documentation.

Write a plugin as a module (or object) with functions decorated ``@hookimpl`` and named
like the specs below; register it through the ``portal`` entry-point group.
"""
from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("portal")
hookimpl = HookimplMarker("portal")


@hookspec
def portal_register_gateways(register, config):
    """Register payment gateways.

    Call ``register(gateway)`` once for each gateway object your plugin provides; a
    gateway subclasses ``portal.gateways.Gateway`` (class-level ``name`` and
    ``accepted_brands``; methods ``client_snippet``, ``vault``, ``remove``, ``charge``,
    ``refund``, ``void``, ``find_by_idempotency_key``, ``parse_webhook``, and for the
    add-card page ``client_token``, ``csp_sources``, ``make_default``). ``config`` is
    the app's configuration mapping. Every implementation is called; the deployment
    picks one by name with PORTAL_GATEWAY. Return nothing. Check a gateway with the
    reusable suite ``portal.testing.gateway_contract.GatewayContract``.
    """


@hookspec
def portal_register_notification_channels(register, config):
    """Register notification channels.

    Call ``register(channel)`` for each channel object your plugin provides; a channel
    subclasses ``portal.notifications.Channel`` (class-level ``name``; method
    ``send(notification)`` that raises on failure so the delivery is retried). Every
    enabled channel receives every mail the built-in notifier writes from the domain
    events (device added, order placed, quote ready, invoice issued, payment failed,
    receipt ready, survey answered, payment method added or removed, invoice payment
    decided, password changed, password reset requested). Return nothing.
    """


@hookspec
def portal_events(events):
    """Domain events, for every plugin that listens (the built-in notifier is one).

    ``events`` is a tuple of one or more events from ``portal.events``, in the order they
    happened, handed over once the change they describe has committed (a billing run
    hands over each batch of invoices at once, so a listener can write in bulk). Each is
    a frozen dataclass with ``kind``, ``account_id``, ``key`` (the same for the same
    occurrence: an event handed over again, e.g. by a billing run started twice, has the
    key it had, so do your work once per key) and the ids and facts below; read the rest
    from the tables.

    - ``DeviceAdded(account_id, device_id, since)``: a new device, or one brought back
      (``since`` is ``"new"`` or when it was removed); never an RMA replacement (DEV-3).
    - ``OrderPlaced(account_id, order_id)``: a plan change placed in the wizard.
    - ``QuoteReady(account_id, quote_id)``: a numbered quote issued.
    - ``SurveyAnswered(account_id, survey_id, user_id)``: a downgrade or cancel survey.
    - ``InvoiceIssued(account_id, invoice_id)``: an invoice to pay by bank transfer.
    - ``PaymentFailed(account_id, invoice_id, attempt, retry_on, message, code)``: a
      collection failed (dunning step ``attempt``; ``retry_on`` None: no more tries).
    - ``ReceiptReady(account_id, invoice_id)``: an invoice paid by card, receipt issued.
    - ``PaymentMethodAdded(account_id, method_id, actor_id)``: a card added.
    - ``PaymentMethodRemoved(account_id, method_id, gateway, brand, last4, exp_month,
      exp_year, actor_id)``: a payment method removed (``actor_id`` None: by the portal).
    - ``ManualMethodDecided(account_id, request_id, approved)``: payment by invoice
      approved or refused by an operator.
    - ``PasswordChanged(account_id, user_id, how, changed_at)``: a person's password was
      changed (``how``: ``"change"`` or ``"reset"``); ``account_id`` may be None.
    - ``PasswordResetRequested(account_id, user_id, link, requested_at)``: a reset link
      for that person (a secret: mail it to them alone, never store or forward it).
    - ``SignupRequested(account_id, email, link, known, language, requested_at)``: a
      sign-up to verify (``account_id`` None); ``link`` verifies it, or, when ``known``,
      is the login page (the address already has a login). A secret like the above.
    - ``TrialEnding(account_id, subscription_id, ends_on, reminder)``: a trial's last day
      ``ends_on`` is ``reminder`` (7 or 1) days away (TRI-1).

    Every implementation is called, in the request, job or billing run that emitted:
    keep it quick (queue slow work, as the notifier queues deliveries), and catch your
    own errors, since an exception stops the listeners after yours and the flow that
    emitted (its change stays committed). Return nothing.
    """


@hookspec(firstresult=True)
def portal_render_document(kind, html, stylesheet, context, config):
    """Render a document to PDF bytes.

    ``kind`` is ``"quote"``, ``"invoice"``, ``"receipt"`` or ``"credit_note"``; ``html``
    is the document already rendered from ``portal/templates/documents/<kind>.html``
    with the deployment's branding; ``stylesheet`` is its CSS (from
    ``documents/<kind>.css``, else ``documents/_style.css``), which the HTML does not
    contain: apply it as the document's first stylesheet (e.g. in a ``<style>`` element
    at the start of the head); ``context`` is the dict the templates received.
    Return the PDF as ``bytes``, or ``None`` to let the next renderer try. The first
    non-None answer wins; the built-in WeasyPrint renderer runs last.
    """


@hookspec
def portal_startup(app):
    """Called once when the app is created, after the built-in blueprints are registered.

    Use it to register a blueprint, a template folder or a CLI command. Return nothing.
    """


@hookspec(firstresult=True)
def portal_tax_lines(document, seller, buyer, config):
    """The taxes of a document about to be issued (rules TAX-1, TAX-2).

    ``document`` is a ``portal.billing.taxes.TaxDraft`` (``kind``: ``"invoice"``,
    ``"quote"`` or ``"order"``; ``lines``: ``DraftLine(description, amount, kind)`` with
    net Decimal amounts, credits negative; ``currency``; ``date``: the issue date, which
    picks the rates in force); ``seller`` and ``buyer`` are ``portal.billing.taxes.Party``
    (legal name, address, ``country`` as an ISO code, ``tax_id``; ``buyer.is_business``
    when it has one); ``config`` is the app's configuration mapping.

    Return a list of ``portal.billing.taxes.TaxLine(rate, base, amount, label, mention,
    country)``: one per rate, ``rate`` in percent, ``base`` the net taxed at that rate,
    ``amount`` the tax rounded half-up to the cent once per rate (TAX-3); the bases add up
    to the document's net. ``label`` and ``mention`` are printed on the document (through
    the catalogue when they are message ids). Return ``[]`` for no tax, ``None`` to let the
    next plugin answer. The first non-None answer wins; ``tax_none`` answers ``[]`` last.
    Check a tax plugin with ``portal.testing.tax_contract.TaxContract``.
    """


@hookspec(firstresult=True)
def portal_vat_id_valid(vat_id, config):
    """Whether the EU VAT number ``vat_id`` (country prefix included, checksum already
    valid) is registered, e.g. according to VIES.

    Return ``True`` or ``False``, or ``None`` when you cannot tell (the number is then
    taken as valid on its checksum alone). The first non-None answer wins. ``tax_eu_vat``
    asks it before it reverse-charges a business buyer (TAX-2); ``tax_vies`` answers when
    PORTAL_VIES_URL is set.
    """
