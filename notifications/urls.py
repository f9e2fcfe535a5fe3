from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_index, name="list"),
    path("notifications/unread/", views.notification_unread, name="unread"),
    path("notifications/read-all/", views.notification_read_all, name="read-all"),
    path("notifications/<int:pk>/read/", views.notification_read, name="read"),
    path("notifications/preferences/", views.email_settings, name="preferences"),
    path("teams/<slug:slug>/channels/new/", views.channel_new, name="channel-new"),
    path("teams/<slug:slug>/channels/<int:pk>/", views.channel_detail, name="channel-detail"),
    path("teams/<slug:slug>/channels/<int:pk>/edit/", views.channel_edit, name="channel-edit"),
    path("teams/<slug:slug>/channels/<int:pk>/test/", views.channel_test, name="channel-test"),
    path("teams/<slug:slug>/channels/<int:pk>/delete/", views.channel_remove, name="channel-delete"),
    path("teams/<slug:slug>/channels/<int:pk>/sends/<int:send_pk>/replay/", views.send_again, name="send-replay"),
]
