"""The coach's own page: its rules, and a box to try it on any text."""

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from postmortems.coach import KIND_PERSON_VERBS
from postmortems.forms import CoachCheckForm
from postmortems.rendering import render_with_findings
from postmortems.selectors.coach import coach_rules, text_findings

EXAMPLE = (
    "Priya forgot to bump the schema version, which was obviously human error. "
    "She should have checked the evaluation report. The feature job failed to start at 02:10."
)


@require_http_methods(["GET", "POST"])
def coach_page(request):
    form = CoachCheckForm(request.POST or None, initial={"text": EXAMPLE})
    text = form.cleaned_data["text"] if form.is_valid() else EXAMPLE
    findings = text_findings(text=text)
    context = {
        "form": form,
        "rules": coach_rules(),
        "person_kind": KIND_PERSON_VERBS,
        "findings": findings,
        "html": render_with_findings(text, findings),
    }
    status = 400 if request.method == "POST" and not form.is_valid() else 200
    return render(request, "postmortems/coach.html", context, status=status)
