"""The plan-change wizard's signed state: the draft of what a run asks for, and the review.

The wizard keeps nothing on the server between steps. Each step carries a signed
``Draft`` (the ``d`` query argument); the review page signs a ``Review``: its draft, the
idempotency key of Place order / Get a quote, the fingerprint of what it was computed
from and the figures it showed. Fields are spelled out in the signed JSON. Tokens signed
before they were (one-letter keys: ``{"s", "p", "i", "q", "a", "c", "k", "v"}`` and
``{"d", "r", "f", "x"}``) are still read, so a wizard open during an upgrade goes on;
anything else that does not verify is refused and the admin starts again
(docs/decisions.md).
"""
from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from ..billing.changes import Terms, family
from ..models import Plan

DRAFT_MAX_AGE = 24 * 3600  # seconds a wizard run may take

# The one-letter keys of tokens signed before the fields were spelled out.
OLD_DRAFT_KEYS = {"s": "subscription_id", "p": "plan", "i": "interval", "q": "quantity",
                  "a": "addon_quantity", "c": "cancel", "k": "key", "v": "survey_id"}
OLD_REVIEW_KEYS = {"d": "draft", "r": "review_key", "f": "fingerprint", "x": "figures"}


@dataclass(frozen=True)
class Draft:
    """What one wizard run asks for; ``key`` names the run (its survey answer's key)."""

    subscription_id: int
    plan: str  # the plan's code
    interval: str
    quantity: int
    addon_quantity: int
    cancel: bool = False
    key: str = dataclasses.field(default_factory=lambda: secrets.token_urlsafe(16))
    survey_id: int | None = None

    @classmethod
    def of(cls, subscription_id: int, terms: Terms, *, cancel: bool = False,
           survey_id: int | None = None) -> Draft:
        """A new run asking for ``terms``."""
        return cls(subscription_id, terms.plan.code, str(terms.interval), terms.quantity,
                   terms.addon_quantity, cancel=cancel, survey_id=survey_id)

    @classmethod
    def from_json(cls, data) -> Draft | None:
        """The draft of a verified payload, old one-letter keys included; None if its
        fields are not a draft's."""
        if not isinstance(data, dict):
            return None
        data = {OLD_DRAFT_KEYS.get(name, name): value for name, value in data.items()}
        try:
            draft = cls(**data)
            return dataclasses.replace(draft, subscription_id=int(draft.subscription_id),
                                       quantity=int(draft.quantity),
                                       addon_quantity=int(draft.addon_quantity),
                                       cancel=bool(draft.cancel))
        except (TypeError, ValueError):
            return None

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    def with_survey(self, survey_id: int | None) -> Draft:
        return dataclasses.replace(self, survey_id=survey_id)

    def terms(self) -> Terms | None:
        """The terms asked for; None if the plan no longer exists."""
        plan = Plan.get_or_none(Plan.code == self.plan)
        return None if plan is None else Terms(plan, self.interval, self.quantity,
                                               self.addon_quantity)

    def step_one_args(self) -> dict:
        """Step 1's query string for this draft (back links, and after a refusal)."""
        args = {"plan": self.plan, "interval": self.interval}
        plan = Plan.get_or_none(Plan.code == self.plan)
        if plan is not None and family(plan) == "seat":
            args.update(quantity=self.quantity, addon_quantity=self.addon_quantity)
        return args


@dataclass(frozen=True)
class Review:
    """A signed review: Place order / Get a quote act on exactly what it showed."""

    draft: Draft
    review_key: str
    fingerprint: str
    figures: dict

    @classmethod
    def of(cls, draft: Draft, fingerprint: str, figures: dict) -> Review:
        return cls(draft, secrets.token_urlsafe(16), fingerprint, figures)

    @classmethod
    def from_json(cls, data) -> Review | None:
        if not isinstance(data, dict):
            return None
        data = {OLD_REVIEW_KEYS.get(name, name): value for name, value in data.items()}
        draft = Draft.from_json(data.get("draft"))
        figures = data.get("figures")
        if draft is None or not isinstance(figures, dict):
            return None
        try:
            return cls(draft, str(data["review_key"]), str(data["fingerprint"]), figures)
        except KeyError:
            return None

    def to_json(self) -> dict:
        return {"draft": self.draft.to_json(), "review_key": self.review_key,
                "fingerprint": self.fingerprint, "figures": self.figures}


def _signer(kind: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=f"portal.changes.{kind}")


def sign(state: Draft | Review) -> str:
    """The URL-safe signed token of a draft or review."""
    kind = "draft" if isinstance(state, Draft) else "review"
    return _signer(kind).dumps(state.to_json())


def load_draft(token: str | None) -> Draft | None:
    """The draft of a token; None if altered, expired (DRAFT_MAX_AGE) or not a draft."""
    try:
        return Draft.from_json(_signer("draft").loads(token or "", max_age=DRAFT_MAX_AGE))
    except BadData:
        return None


def load_review(token: str | None) -> Review | None:
    """The review of a token; None if altered or not a review."""
    try:
        return Review.from_json(_signer("review").loads(token or ""))
    except BadData:
        return None
