"""What post-mortem services call so that search and the learnings library follow their changes.

Search hears of a change through the post-mortem followers (``postmortems/hooks.py``), which it registers.
"""

from postmortems.hooks import postmortem_changed
from postmortems.models import LearningProposal, Postmortem
from postmortems.services.learnings import learning_proposals_create


def postmortem_written(*, postmortem: Postmortem) -> None:
    """Tell the post-mortem followers (search) of the change; call after its text, factors or state changed."""
    postmortem_changed(postmortem=postmortem)


def postmortem_published(*, postmortem: Postmortem) -> list[LearningProposal]:
    """Tell the followers (search) of the publication and propose its new lessons; return those proposals."""
    postmortem_changed(postmortem=postmortem)
    return learning_proposals_create(postmortem=postmortem)
