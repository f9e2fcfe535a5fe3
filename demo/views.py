"""The sign-in page, which in development also lists the demo organisation's people."""

from django.conf import settings
from django.contrib.auth import views as auth_views

from demo.chapters.people import DEMO_PASSWORD, demo_is_seeded, demo_sign_ins


class SignInView(auth_views.LoginView):
    """Django's sign-in; in development it also lists the demo organisation's people and their roles."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.DEBUG and demo_is_seeded():
            context.update({"demo_sign_ins": demo_sign_ins(), "demo_password": DEMO_PASSWORD})
        return context
