"""Reads of post-mortems. The two other apps rely on are importable from here."""

from postmortems.selectors.postmortems import postmortem_close_blocker, postmortem_for_incident

__all__ = ["postmortem_close_blocker", "postmortem_for_incident"]
