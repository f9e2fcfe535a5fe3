"""What post-mortem services call so that search and the learnings library follow their changes."""

from postmortems.models import LearningProposal, Postmortem
from postmortems.services.learnings import learning_proposals_create
from search.services import search_entry_sync_postmortem


def postmortem_written(*, postmortem: Postmortem) -> None:
    """Re-index the post-mortem (and its incident) for search; call after its text, factors or state changed."""
    search_entry_sync_postmortem(postmortem=postmortem)


def postmortem_published(*, postmortem: Postmortem) -> list[LearningProposal]:
    """Re-index the published post-mortem and propose its new lessons for the library; return those proposals."""
    search_entry_sync_postmortem(postmortem=postmortem)
    return learning_proposals_create(postmortem=postmortem)
