"""The models of post-mortems, templates, the coach, reviews, action items and learnings."""

from postmortems.models.coach import CoachAcknowledgement, CoachRule, CoachRuleKind
from postmortems.models.postmortems import (
    FACTOR_CATEGORY_GROUPS,
    GENERAL_FACTOR_CATEGORIES,
    ML_FACTOR_CATEGORIES,
    ContributingFactor,
    FactorCategory,
    Postmortem,
    PostmortemAutosave,
    PostmortemNotNeeded,
    PostmortemStatus,
    PostmortemVersion,
)
from postmortems.models.reviews import PostmortemReview, PostmortemReviewer, ReviewDecision
from postmortems.models.templates import SectionKind, SectionPrefill, Template, TemplateSection

__all__ = [
    "FACTOR_CATEGORY_GROUPS",
    "GENERAL_FACTOR_CATEGORIES",
    "ML_FACTOR_CATEGORIES",
    "CoachAcknowledgement",
    "CoachRule",
    "CoachRuleKind",
    "ContributingFactor",
    "FactorCategory",
    "Postmortem",
    "PostmortemAutosave",
    "PostmortemNotNeeded",
    "PostmortemReview",
    "PostmortemReviewer",
    "PostmortemStatus",
    "PostmortemVersion",
    "ReviewDecision",
    "SectionKind",
    "SectionPrefill",
    "Template",
    "TemplateSection",
]

# Follow-up actions and the library of learnings.
from postmortems.models.actions import (
    ACTION_KIND_GROUPS,
    ML_ACTION_KINDS,
    RESOLVED_STATUSES,
    UNRESOLVED_STATUSES,
    ActionItem,
    ActionItemKind,
    ActionItemPriority,
    ActionItemStatus,
    ReminderKind,
    ReminderSend,
)
from postmortems.models.learnings import (
    Learning,
    LearningCategory,
    LearningProposal,
    LearningProposalStatus,
)

__all__ += [
    "ACTION_KIND_GROUPS",
    "ML_ACTION_KINDS",
    "RESOLVED_STATUSES",
    "UNRESOLVED_STATUSES",
    "ActionItem",
    "ActionItemKind",
    "ActionItemPriority",
    "ActionItemStatus",
    "Learning",
    "LearningCategory",
    "LearningProposal",
    "LearningProposalStatus",
    "ReminderKind",
    "ReminderSend",
]
