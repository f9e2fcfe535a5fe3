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
