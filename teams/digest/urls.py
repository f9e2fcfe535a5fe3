from django.urls import path

from teams.digest import views

app_name = "digest"

urlpatterns = [
    path("preferences/", views.digest_preferences, name="preferences"),
    path("preview/", views.digest_preview, name="preview"),
    path("preview/email/", views.digest_preview_email, name="preview-email"),
    path("unsubscribe/<str:token>/", views.digest_unsubscribe_view, name="unsubscribe"),
]
