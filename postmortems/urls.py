"""Page URLs of post-mortems, templates and the coach (namespace ``postmortems``)."""

from django.urls import path

from postmortems.views import coach, incidents, postmortems, templates
from postmortems.views.follow_up_urls import follow_up_patterns

app_name = "postmortems"

urlpatterns = [
    path("postmortems/", postmortems.postmortem_index, name="list"),
    path("postmortems/start/<id:incident_pk>/", postmortems.postmortem_start_view, name="start"),
    path("postmortems/not-needed/<id:incident_pk>/", incidents.not_needed, name="not-needed"),
    path(
        "postmortems/not-needed/<id:incident_pk>/withdraw/", incidents.not_needed_withdraw, name="not-needed-withdraw"
    ),
    path("postmortems/coach/", coach.coach_page, name="coach"),
    path("postmortems/templates/", templates.template_index, name="templates"),
    path("postmortems/templates/<id:pk>/", templates.template_detail, name="template-detail"),
    path("postmortems/templates/<id:pk>/edit/", templates.template_edit, name="template-edit"),
    path("postmortems/templates/<id:pk>/archive/", templates.template_archive_view, name="template-archive"),
    path("postmortems/templates/<id:pk>/sections/", templates.template_section_add_view, name="template-section-add"),
    path(
        "postmortems/templates/<id:pk>/sections/<id:section_pk>/",
        templates.template_section_edit_view,
        name="template-section-edit",
    ),
    path(
        "postmortems/templates/<id:pk>/sections/<id:section_pk>/move/",
        templates.template_section_move_view,
        name="template-section-move",
    ),
    path(
        "postmortems/templates/<id:pk>/sections/<id:section_pk>/delete/",
        templates.template_section_delete_view,
        name="template-section-delete",
    ),
    path("postmortems/<id:pk>/", postmortems.postmortem_detail_view, name="detail"),
    path("postmortems/<id:pk>/edit/", postmortems.postmortem_edit, name="edit"),
    path("postmortems/<id:pk>/preview/", postmortems.postmortem_preview, name="preview"),
    path("postmortems/<id:pk>/autosave/", postmortems.postmortem_autosave_view, name="autosave"),
    path(
        "postmortems/<id:pk>/autosave/discard/", postmortems.postmortem_autosave_discard_view, name="autosave-discard"
    ),
    path("postmortems/<id:pk>/submit/", postmortems.postmortem_submit_view, name="submit"),
    path("postmortems/<id:pk>/reviewers/", postmortems.postmortem_reviewer_add_view, name="reviewer-add"),
    path(
        "postmortems/<id:pk>/reviewers/<id:reviewer_pk>/remove/",
        postmortems.postmortem_reviewer_remove_view,
        name="reviewer-remove",
    ),
    path("postmortems/<id:pk>/review/", postmortems.postmortem_review_view, name="review"),
    path("postmortems/<id:pk>/publish/", postmortems.postmortem_publish_view, name="publish"),
    path("postmortems/<id:pk>/reopen/", postmortems.postmortem_reopen_view, name="reopen"),
    path("postmortems/<id:pk>/history/", postmortems.postmortem_history, name="history"),
    path("postmortems/<id:pk>/history/<id:number>/", postmortems.postmortem_diff, name="diff"),
    path("postmortems/<id:pk>/markdown/", postmortems.postmortem_markdown, name="markdown"),
    path("postmortems/<id:pk>/print/", postmortems.postmortem_print, name="print"),
]

# Follow-up actions and the learnings library.
urlpatterns += follow_up_patterns
