import pytest

from tests.postmortems.conftest import *  # noqa: F403 - the post-mortem fixtures, for the browser tests too


@pytest.fixture(autouse=True)
def people_with_names(member, lead):
    """Give the people on screen real names, so screenshots read like the product."""
    for user, first, last in ((member, "Priya", "Raman"), (lead, "Lucía", "Fernández")):
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
