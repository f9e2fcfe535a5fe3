"""Page URLs of post-mortems, templates and the coach (namespace ``postmortems``)."""

from django.urls import path

from postmortems.views import coach, incidents, postmortems, templates
from postmortems.views.follow_up_urls import follow_up_patterns

app_name = "postmortems"

urlpatterns = [
    path("postmortems/", postmortems.postmortem_index, name="list"),
    path("postmortems/start/<int:incident_pk>/", postmortems.postmortem_start_view, name="start"),
    path("postmortems/not-needed/<int:incident_pk>/", incidents.not_needed, name="not-needed"),
    path(
        "postmortems/not-needed/<int:incident_pk>/withdraw/", incidents.not_needed_withdraw, name="not-needed-withdraw"
    ),
    path("postmortems/coach/", coach.coach_page, name="coach"),
    path("postmortems/templates/", templates.template_index, name="templates"),
    path("postmortems/templates/<int:pk>/", templates.template_detail, name="template-detail"),
    path("postmortems/templates/<int:pk>/edit/", templates.template_edit, name="template-edit"),
    path("postmortems/templates/<int:pk>/archive/", templates.template_archive_view, name="template-archive"),
    path("postmortems/templates/<int:pk>/sections/", templates.template_section_add_view, name="template-section-add"),
    path(
        "postmortems/templates/<int:pk>/sections/<int:section_pk>/",
        templates.template_section_edit_view,
        name="template-section-edit",
    ),
    path(
        "postmortems/templates/<int:pk>/sections/<int:section_pk>/move/",
        templates.template_section_move_view,
        name="template-section-move",
    ),
    path(
        "postmortems/templates/<int:pk>/sections/<int:section_pk>/delete/",
        templates.template_section_delete_view,
        name="template-section-delete",
    ),
    path("postmortems/<int:pk>/", postmortems.postmortem_detail_view, name="detail"),
    path("postmortems/<int:pk>/edit/", postmortems.postmortem_edit, name="edit"),
    path("postmortems/<int:pk>/preview/", postmortems.postmortem_preview, name="preview"),
    path("postmortems/<int:pk>/autosave/", postmortems.postmortem_autosave_view, name="autosave"),
    path(
        "postmortems/<int:pk>/autosave/discard/", postmortems.postmortem_autosave_discard_view, name="autosave-discard"
    ),
    path("postmortems/<int:pk>/submit/", postmortems.postmortem_submit_view, name="submit"),
    path("postmortems/<int:pk>/reviewers/", postmortems.postmortem_reviewer_add_view, name="reviewer-add"),
    path(
        "postmortems/<int:pk>/reviewers/<int:reviewer_pk>/remove/",
        postmortems.postmortem_reviewer_remove_view,
        name="reviewer-remove",
    ),
    path("postmortems/<int:pk>/review/", postmortems.postmortem_review_view, name="review"),
    path("postmortems/<int:pk>/publish/", postmortems.postmortem_publish_view, name="publish"),
    path("postmortems/<int:pk>/reopen/", postmortems.postmortem_reopen_view, name="reopen"),
    path("postmortems/<int:pk>/history/", postmortems.postmortem_history, name="history"),
    path("postmortems/<int:pk>/history/<int:number>/", postmortems.postmortem_diff, name="diff"),
    path("postmortems/<int:pk>/markdown/", postmortems.postmortem_markdown, name="markdown"),
    path("postmortems/<int:pk>/print/", postmortems.postmortem_print, name="print"),
]

# Follow-up actions and the learnings library.
urlpatterns += follow_up_patterns
