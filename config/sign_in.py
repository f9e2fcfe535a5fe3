"""Sign-in throttling: django-axes counts failed sign-ins per account and per address and locks them out.

After ``AXES_FAILURE_LIMIT`` failures for one username, or from one address, further attempts are refused
with 429 for ``AXES_COOLOFF_TIME``, even with the right password. Staff unlock early in the admin (Access
attempts: delete the rows) or with ``manage.py axes_reset_username NAME`` / ``axes_reset_ip ADDRESS``.
"""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render

SIGN_IN_LOCKED = (
    "Too many failed sign-ins for this account or from this address. Try again in {minutes} minutes, "
    "or ask an administrator to unlock it."
)


class SignInThrottleBackend(AxesStandaloneBackend):
    """Refuse sign-ins of locked-out accounts and addresses; authentication itself is left to ModelBackend.

    Credentials checked without a request (a management command, the test client's ``login``) are no web
    sign-in, so there is nothing to throttle.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_minutes() -> int:
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))


def sign_in_locked_out(request, credentials, *args, **kwargs):
    """Answer a locked-out sign-in with the sign-in page, its reason on top, and 429."""
    form = AuthenticationForm(request, data=None, initial={"username": (credentials or {}).get("username", "")})
    context = {"form": form, "locked_out": SIGN_IN_LOCKED.format(minutes=lockout_minutes())}
    return render(request, "registration/login.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
