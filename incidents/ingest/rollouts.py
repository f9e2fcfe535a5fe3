"""The rollout block a pipeline may add to a deployment: candidate, control, traffic, step, outcome.

The generic schema validates it strictly before this reads it; GitHub's
``deployment.payload`` is free-form, so a value of the wrong kind there is
dropped rather than failing the deployment it came with. Pure: no database.
"""

import json
from typing import Any

from incidents.ingest import fields
from incidents.ingest.events import Rollout, RolloutKind, RolloutOutcome

# The highest step number a rollout is believed: the generic schema's maximum.
MAX_STEP = 10_000
# What senders write for an outcome, and what it means.
OUTCOME_WORDS = {
    "promoted": RolloutOutcome.PROMOTED,
    "completed": RolloutOutcome.PROMOTED,
    "rolled_back": RolloutOutcome.ROLLED_BACK,
    "rolled-back": RolloutOutcome.ROLLED_BACK,
    "rollback": RolloutOutcome.ROLLED_BACK,
    "aborted": RolloutOutcome.ABORTED,
}
KIND_WORDS = {
    "canary": RolloutKind.CANARY,
    "ab_test": RolloutKind.AB_TEST,
    "ab-test": RolloutKind.AB_TEST,
    "a/b": RolloutKind.AB_TEST,
    "shadow": RolloutKind.SHADOW,
    "blue_green": RolloutKind.BLUE_GREEN,
    "blue-green": RolloutKind.BLUE_GREEN,
    "bluegreen": RolloutKind.BLUE_GREEN,
}


def whole_number(found: Any, *, highest: int) -> int | None:
    """Return ``found`` as a whole number from 0 to ``highest`` (ints, integral floats, digit strings), else None."""
    if isinstance(found, bool):
        return None
    if isinstance(found, float) and found.is_integer():
        found = int(found)
    if isinstance(found, str) and found.strip().isascii() and found.strip().isdigit() and len(found.strip()) <= 6:
        found = int(found.strip())
    if isinstance(found, int) and 0 <= found <= highest:
        return found
    return None


def traffic_share(found: Any) -> int | float | None:
    """Return ``found`` as a share of traffic from 0 to 100 in hundredths (2.5, "0.5", 10), else None.

    Numbers and decimal strings; NaN, infinities, booleans and anything
    outside 0 to 100 are None. Rounded to hundredths, as experiments store it.
    """
    if isinstance(found, bool):
        return None
    if isinstance(found, str):
        text = found.strip()
        if not (0 < len(text) <= 12 and text.isascii() and text.replace(".", "", 1).isdigit()):
            return None
        found = float(text)
    if not isinstance(found, int | float) or not 0 <= found <= 100:  # NaN compares false: refused too
        return None
    share = round(found, 2)
    return int(share) if share == int(share) else share


def rollout_from(block: Any) -> Rollout | None:
    """Return the rollout a block describes, or None when there is no block (or it is not an object)."""
    if isinstance(block, str) and block.strip().startswith("{") and len(block) < 65536:
        try:
            block = json.loads(block)
        except (ValueError, RecursionError):
            return None
    if not isinstance(block, dict):
        return None
    outcome = OUTCOME_WORDS.get(fields.text(block, "outcome").strip().lower())
    kind = KIND_WORDS.get(fields.text(block, "kind").strip().lower(), RolloutKind.CANARY)
    return Rollout(
        name=fields.text(block, "name"),
        kind=kind,
        candidate=fields.text(block, "candidate"),
        control=fields.text(block, "control"),
        traffic_percent=traffic_share(block.get("traffic_percent")),
        step=whole_number(block.get("step"), highest=MAX_STEP),
        outcome=outcome,
        reason=fields.text(block, "reason"),
    )
