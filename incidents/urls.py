from incidents.ingest.urls import source_patterns
from incidents.views.urls import incident_patterns

app_name = "incidents"

urlpatterns = [*incident_patterns, *source_patterns]
