"""Insights series under /api/v1/insights/<series>/."""

from django.urls import path

from insights.api import INSIGHTS_API_VIEWS

urlpatterns = [
    path(f"insights/{series}/", view, name=f"insights-{series}") for series, view in INSIGHTS_API_VIEWS.items()
]
