"""The one filter every organization-scoped query starts from.

:data:`MEMBER_ORGANIZATIONS` selects the organizations that the user
``:user_id`` belongs to, with its role in each. Every statement that reads
or writes inside an organization is built on it (or on
:data:`MEMBER_ORGANIZATION_ID`), so a user who is not a member finds
nothing, exactly as if the organization did not exist. The property tests
in ``tests/test_isolation_properties.py`` hold every operation to it.

Like every statement of the operations, these are built once, with bound
parameters, so that SQLAlchemy compiles them once.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select

from ..errors import NotFound
from ..schemas import SLUG
from ..tables import memberships, organizations
from ..validators import is_valid

#: The organizations that the user ``:user_id`` belongs to, with its role.
MEMBER_ORGANIZATIONS = (
    select(
        organizations.c.id,
        organizations.c.slug,
        organizations.c.name,
        organizations.c.created_at,
        memberships.c.role,
    )
    .join(memberships, memberships.c.org_id == organizations.c.id)
    .where(memberships.c.user_id == bindparam("user_id"))
)

#: The organization ``:slug``, if the user ``:user_id`` is a member.
MEMBER_ORGANIZATION = MEMBER_ORGANIZATIONS.where(
    organizations.c.slug == bindparam("slug")
)

#: The id of the organization ``:slug`` if the user ``:user_id`` is a member:
#: the membership check inside statements that read or write its content.
MEMBER_ORGANIZATION_ID = MEMBER_ORGANIZATION.with_only_columns(
    organizations.c.id
).scalar_subquery()


def check_slug(slug: str) -> None:
    """Answer the organization's 404 for a slug that no organization can have.

    PostgreSQL refuses some such strings (a NUL) outright, which must not
    become a 500.
    """
    if not is_valid(SLUG, slug):
        raise NotFound("Organization not found.")
