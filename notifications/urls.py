from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_index, name="list"),
    path("notifications/unread/", views.notification_unread, name="unread"),
    path("notifications/read-all/", views.notification_read_all, name="read-all"),
    path("notifications/<id:pk>/read/", views.notification_read, name="read"),
    path("notifications/preferences/", views.email_settings, name="preferences"),
    path("incidents/<id:pk>/follow/", views.incident_follow, name="follow"),
    path("teams/<slug:slug>/channels/new/", views.channel_new, name="channel-new"),
    path("teams/<slug:slug>/channels/<id:pk>/", views.channel_detail, name="channel-detail"),
    path("teams/<slug:slug>/channels/<id:pk>/edit/", views.channel_edit, name="channel-edit"),
    path("teams/<slug:slug>/channels/<id:pk>/test/", views.channel_test, name="channel-test"),
    path("teams/<slug:slug>/channels/<id:pk>/delete/", views.channel_remove, name="channel-delete"),
    path("teams/<slug:slug>/channels/<id:pk>/sends/<id:send_pk>/replay/", views.send_again, name="send-replay"),
]
