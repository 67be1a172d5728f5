"""People and their memberships (rule ACC-5), for tests that set up or read them."""
from portal.models import Account, Membership, User


def membership(email: str, account: str | None = None) -> Membership:
    """The membership of the person with ``email`` (in the account named ``account``, or
    their only one), its user loaded."""
    query = (Membership.select(Membership, User).join(User).switch(Membership)
             .where(User.email == email))
    if account is not None:
        query = query.join(Account).where(Account.name == account)
    return query.get()


def join(email: str, account: str, role: str = "member", active: bool = True) -> Membership:
    """Put the person with ``email`` in the account named ``account`` (seed data: no audit)."""
    return Membership.create(user=User.get(User.email == email),
                             account=Account.get(Account.name == account), role=role,
                             active=active)
