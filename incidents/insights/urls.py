"""URLs of insights: the page and CSV downloads (namespace ``incidents``), and the API series."""

from django.urls import path

from incidents.insights import views
from incidents.insights.api import INSIGHTS_API_VIEWS

insights_patterns: list = [
    path("insights/", views.insights_page, name="insights"),
    path("insights/<slug:chart>.csv", views.insights_csv, name="insights-csv"),
]

api_patterns: list = [
    path(f"insights/{series}/", view, name=f"insights-{series}") for series, view in INSIGHTS_API_VIEWS.items()
]
