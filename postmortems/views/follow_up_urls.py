"""Page URLs of action items and the learnings library (namespace ``postmortems``)."""

from django.urls import path

from postmortems.views import actions, learnings

follow_up_patterns = [
    path("actions/", actions.my_actions, name="actions"),
    path("actions/new/", actions.action_create, name="action-create"),
    path("actions/bulk/", actions.action_bulk, name="action-bulk"),
    path("actions/overdue/", actions.overdue_for_lead, name="action-overdue"),
    path("actions/team/<slug:slug>/", actions.team_board, name="action-board"),
    path("actions/<id:pk>/", actions.action_detail, name="action-detail"),
    path("actions/<id:pk>/edit/", actions.action_edit, name="action-edit"),
    path("actions/<id:pk>/status/", actions.action_status, name="action-status"),
    path("learnings/", learnings.learning_index, name="learnings"),
    path("learnings/new/", learnings.learning_new, name="learning-create"),
    path("learnings/proposals/", learnings.proposal_index, name="learning-proposals"),
    path("learnings/proposals/<id:pk>/accept/", learnings.proposal_accept, name="learning-proposal-accept"),
    path("learnings/proposals/<id:pk>/dismiss/", learnings.proposal_dismiss, name="learning-proposal-dismiss"),
    path("learnings/<id:pk>/", learnings.learning_page, name="learning-detail"),
    path("learnings/<id:pk>/edit/", learnings.learning_edit, name="learning-edit"),
]
