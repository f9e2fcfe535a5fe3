"""Middleware of our own: sign-in for pages only, and a short way for webhook deliveries to their view."""

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.urls import Resolver404, resolve

# Machine callers authenticate themselves: the API by token or session (DRF
# answers 401/403 as JSON), webhooks by signature, health checks not at all.
MACHINE_PREFIXES = ("/api/", "/hooks/", "/healthz", "/static/")
WEBHOOK_PREFIX = "/hooks/"


class PagesLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Require sign-in for every page, leaving machine endpoints to their own auth."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(MACHINE_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class WebhookMiddleware:
    """Send webhook deliveries straight to the receive view, past the middleware only people need.

    A delivery is authenticated by its signature and answered with JSON: it
    has no session, no CSRF token, no user, no login requirement and no flash
    messages, so the middleware for those would only spend CPU on every
    delivery (a tenth of the request). Place it after the middleware that
    every answer needs (HTTPS redirect and security headers, Content-Length,
    X-Frame-Options) and before the others. A path under /hooks/ that no
    pattern matches goes down the whole stack, to the usual 404 handling.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(WEBHOOK_PREFIX):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)
