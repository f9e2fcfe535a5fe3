from django.urls import path

from teams import views

app_name = "teams"

urlpatterns = [
    path("", views.team_index, name="list"),
    path("<slug:slug>/", views.team_detail, name="detail"),
    path("<slug:slug>/settings/", views.team_settings, name="settings"),
    path("<slug:slug>/members/add/", views.member_add, name="member-add"),
    path("<slug:slug>/members/<id:membership_id>/remove/", views.member_remove, name="member-remove"),
    path("<slug:slug>/members/<id:membership_id>/role/", views.member_role, name="member-role"),
]
