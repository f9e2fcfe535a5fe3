"""Pages of the weekly digest: preferences, a preview of one's own digest, and unsubscribing by link.

The unsubscribe page is reached from an email without a session: its link
carries a signed token, a GET only asks for confirmation, and a POST (the
confirmation button, or a mail program's RFC 8058 one-click request) turns
the digest off. It is exempt from CSRF because the token, not a cookie, is
what authenticates it.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt

from teams.digest.forms import DigestPreferencesForm
from teams.digest.schedule import WEEK_INVALID, IsoWeek
from teams.digest.selectors import digest_build, digest_preference_for, digest_send_status, digest_sends_of
from teams.digest.services import (
    UNSUBSCRIBE_INVALID,
    digest_email_context,
    digest_preferences_update,
    digest_subject,
    digest_unsubscribe,
    digest_unsubscribe_user,
)
from teams.models import Team
from teams.selectors import user_team_ids

# The previewed email keeps its inline styles, as mail programs see them, and may run nothing.
PREVIEW_EMAIL_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"


def digest_preferences(request):
    own_team_ids = user_team_ids(user=request.user)
    current = digest_preference_for(user=request.user)
    if request.method == "POST":
        form = DigestPreferencesForm(request.POST, own_team_ids=own_team_ids)
        if form.is_valid():
            digest_preferences_update(
                user=request.user,
                enabled=form.cleaned_data["enabled"],
                followed_teams=list(form.cleaned_data["followed_teams"]),
            )
            messages.success(request, "Digest preferences saved.")
            return redirect("digest:preferences")
        status = 400
    else:
        form = DigestPreferencesForm(
            own_team_ids=own_team_ids,
            initial={"enabled": current.enabled, "followed_teams": sorted(current.followed_team_ids)},
        )
        status = 200
    context = {
        "form": form,
        "current": current,
        "own_teams": Team.objects.filter(pk__in=own_team_ids).order_by("name"),
        "sends": digest_sends_of(user=request.user),
    }
    return render(request, "teams/digest/preferences.html", context, status=status)


def _week_from(request) -> IsoWeek | None:
    text = request.GET.get("week", "").strip()
    return IsoWeek.parse(text) if text else None


def digest_preview(request):
    try:
        week = _week_from(request)
    except ValueError:
        return render(request, "teams/digest/preview.html", {"error": WEEK_INVALID}, status=400)
    digest = digest_build(user=request.user, week=week)
    context = digest_email_context(digest=digest)
    context |= {
        "subject": digest_subject(context=context),
        "text_body": render_to_string("emails/digest.txt", context),
        "send_status": digest_send_status(user_id=request.user.pk, week=digest.week),
        "week_param": str(week) if week else "",
    }
    return render(request, "teams/digest/preview.html", context)


@xframe_options_sameorigin
def digest_preview_email(request):
    try:
        week = _week_from(request)
    except ValueError:
        return HttpResponse(WEEK_INVALID, status=400, content_type="text/plain; charset=utf-8")
    digest = digest_build(user=request.user, week=week)
    response = HttpResponse(render_to_string("emails/digest.html", digest_email_context(digest=digest)))
    response["Content-Security-Policy"] = PREVIEW_EMAIL_POLICY
    # The site-wide policy (django-csp) would forbid the inline styles every mail program reads: this
    # document keeps its own, stricter in all else (no script, no request leaves it).
    response._csp_exempt = True
    return response


@login_not_required
@csrf_exempt
def digest_unsubscribe_view(request, token):
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    user = digest_unsubscribe_user(token=token)
    if user is None:
        return render(request, "teams/digest/unsubscribe.html", {"error": UNSUBSCRIBE_INVALID}, status=400)
    if request.method == "POST":
        digest_unsubscribe(user=user)
        return render(request, "teams/digest/unsubscribe.html", {"done": True, "email": user.email})
    return render(request, "teams/digest/unsubscribe.html", {"email": user.email})
