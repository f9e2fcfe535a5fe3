"""Search reads what the follow-ups write: its tests use the same world (teams, model, frozen time)."""

# Fixtures are found by name in a conftest's namespace; importing them is how they are shared.
from tests.postmortems.follow_ups.conftest import (  # noqa: F401 - imported for pytest to find by name
    fast_password_hashing,
    frozen_at,
    other_member,
    other_team,
    scorer,
)
