from django.contrib.auth.middleware import LoginRequiredMiddleware

# Machine callers authenticate themselves: the API by token or session (DRF
# answers 401/403 as JSON), webhooks by signature, health checks not at all.
MACHINE_PREFIXES = ("/api/", "/hooks/", "/healthz", "/static/")


class PagesLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Require sign-in for every page, leaving machine endpoints to their own auth."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(MACHINE_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
