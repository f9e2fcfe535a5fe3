"""Pages of notifications: a person's list and email choices, and a team's channels with their log."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from notifications.forms import ChannelForm
from notifications.messages import message_for_event
from notifications.models import Channel, EmailWhen, EventKind, NotificationSend
from notifications.selectors import (
    channel_list,
    channel_send_log,
    email_choices,
    notification_get,
    notification_list,
    notification_unread_count,
)
from notifications.services.channels import (
    channel_create,
    channel_delete,
    channel_send_test,
    channel_update,
)
from notifications.services.follows import NOT_VISIBLE, follow_start, follow_stop
from notifications.services.inbox import email_preferences_set, notification_mark_all_read, notification_mark_read
from notifications.services.sends import send_replay
from teams.models import Team
from teams.selectors import user_is_team_lead, user_is_team_member

PAGE_SIZE = 30
NOT_A_LEAD = "Only the team's leads (and admins) can manage its channels."
TEST_QUEUED = "Test message queued for {channel}: its result shows in the log below within seconds."
REPLAY_QUEUED = "Message queued again."
PREFERENCES_SAVED = "Email settings saved."
CHANNEL_DELETED = "Channel {channel} deleted."
CHANNEL_SAVED = "Channel {channel} saved."
FOLLOWING = "You follow {reference}: its updates reach you here, and by email if you choose it."
UNFOLLOWED = "You no longer follow {reference}."


def _items(notifications):
    return [(notification, message_for_event(notification.event)) for notification in notifications]


def notification_index(request):
    """List the signed-in person's notifications, newest first; ``?unread=1`` for the unread ones."""
    unread = request.GET.get("unread") in ("1", "true")
    page = Paginator(notification_list(user=request.user, unread=unread), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "items": _items(page.object_list),
        "unread_only": unread,
        "unread_count": notification_unread_count(user=request.user),
    }
    return render(request, "notifications/list.html", context)


def _next_url(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


@require_POST
def notification_read(request, pk):
    """Mark one notification read; ``open`` goes on to its page."""
    notification = notification_get(user=request.user, pk=pk)
    if notification is None:
        raise Http404
    notification_mark_read(notification=notification, user=request.user)
    if "open" in request.POST:
        return redirect(notification.event.path)
    return redirect(_next_url(request, "notifications:list"))


@require_POST
def notification_read_all(request):
    notification_mark_all_read(user=request.user)
    return redirect(_next_url(request, "notifications:list"))


@require_POST
def incident_follow(request, pk):
    """Follow the incident (``follow=1``) or stop following it (``follow=0``), then go back to its page."""
    from incidents.selectors.incidents import incident_list

    incident = get_object_or_404(incident_list(user=request.user), pk=pk)
    if request.POST.get("follow") == "0":
        follow_stop(incident=incident, user=request.user)
        messages.success(request, UNFOLLOWED.format(reference=incident.reference))
    else:
        try:
            follow_start(incident=incident, user=request.user)
        except PermissionError as error:  # deactivated meanwhile: the incident list let it through
            raise PermissionDenied(NOT_VISIBLE) from error
        messages.success(request, FOLLOWING.format(reference=incident.reference))
    return redirect(_next_url(request, incident.get_absolute_url()))


@require_GET
def notification_unread(request):
    """Answer the unread count as JSON, for the bell."""
    return JsonResponse({"unread": notification_unread_count(user=request.user)})


def email_settings(request):
    """Show and change when the person gets each kind of event by email."""
    if request.method == "POST":
        choices = {
            kind: request.POST.get(f"when-{kind}", EmailWhen.ASKED)
            for kind in EventKind.values
            if request.POST.get(f"when-{kind}") is not None
        }
        try:
            email_preferences_set(user=request.user, choices=choices)
        except ValueError as error:
            messages.error(request, str(error))
            status = 400
        else:
            messages.success(request, PREFERENCES_SAVED)
            return redirect("notifications:preferences")
    else:
        status = 200
    context = {"choices": email_choices(user=request.user), "whens": EmailWhen.choices}
    return render(request, "notifications/preferences.html", context, status=status)


# A team's channels -------------------------------------------------------------------------------


def _team_led_by(request, slug) -> Team:
    team = get_object_or_404(Team, slug=slug)
    if not user_is_team_lead(user=request.user, team=team):
        raise PermissionDenied(NOT_A_LEAD)
    return team


def _channel_of(team: Team, pk: int) -> Channel:
    return get_object_or_404(Channel.objects.select_related("team"), pk=pk, team=team)


def team_channels_context(*, team: Team, user) -> dict:
    """Return what the team page's channels section shows: channels, the recent log, the form for leads."""
    if not user_is_team_member(user=user, team=team):
        return {"channels_visible": False}
    can_manage = user_is_team_lead(user=user, team=team)
    return {
        "channels_visible": True,
        "channels": channel_list(team=team),
        "channel_sends": list(channel_send_log(team=team)[:15]),
        "channel_form": ChannelForm() if can_manage else None,
    }


@require_POST
def channel_new(request, slug):
    team = _team_led_by(request, slug)
    form = ChannelForm(request.POST)
    if form.is_valid():
        try:
            channel = channel_create(team=team, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            # The signing secret is shown on this answer only.
            return render(request, "notifications/channel_created.html", {"team": team, "channel": channel}, status=201)
    return render(request, "notifications/channel_form.html", {"team": team, "form": form, "channel": None}, status=400)


def channel_edit(request, slug, pk):
    team = _team_led_by(request, slug)
    channel = _channel_of(team, pk)
    if request.method == "POST":
        form = ChannelForm(request.POST, channel=channel)
        if form.is_valid():
            fields = {name: form.cleaned_data[name] for name in ("name", "url", "events", "active")}
            try:
                channel_update(channel=channel, actor=request.user, **fields)
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, CHANNEL_SAVED.format(channel=channel.name))
                return redirect("notifications:channel-detail", slug=team.slug, pk=channel.pk)
        return render(
            request, "notifications/channel_form.html", {"team": team, "form": form, "channel": channel}, status=400
        )
    form = ChannelForm(channel=channel)
    return render(request, "notifications/channel_form.html", {"team": team, "form": form, "channel": channel})


def channel_detail(request, slug, pk):
    """Show one channel and its whole delivery log (members read, leads manage)."""
    team = get_object_or_404(Team, slug=slug)
    if not user_is_team_member(user=request.user, team=team):
        raise Http404
    channel = _channel_of(team, pk)
    page = Paginator(channel_send_log(channel=channel), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "team": team,
        "channel": channel,
        "page": page,
        "can_manage": user_is_team_lead(user=request.user, team=team),
    }
    return render(request, "notifications/channel_detail.html", context)


@require_POST
def channel_test(request, slug, pk):
    team = _team_led_by(request, slug)
    channel = _channel_of(team, pk)
    try:
        channel_send_test(channel=channel, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, TEST_QUEUED.format(channel=channel.name))
    return redirect(_next_url(request, team.get_absolute_url()))


@require_POST
def channel_remove(request, slug, pk):
    team = _team_led_by(request, slug)
    channel = _channel_of(team, pk)
    if request.POST.get("confirm") != "yes":
        return render(request, "notifications/channel_delete.html", {"team": team, "channel": channel})
    channel_delete(channel=channel, actor=request.user)
    messages.success(request, CHANNEL_DELETED.format(channel=channel.name))
    return redirect(team)


@require_POST
def send_again(request, slug, pk, send_pk):
    team = _team_led_by(request, slug)
    channel = _channel_of(team, pk)
    send = get_object_or_404(NotificationSend, pk=send_pk, channel=channel)
    try:
        send_replay(send=send)
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, REPLAY_QUEUED)
    return redirect(_next_url(request, team.get_absolute_url()))
