"""The webhook endpoint (namespace ``ingest``) and the source pages (namespace ``incidents``)."""

app_name = "ingest"

# Mounted under /hooks/: the receive view.
urlpatterns: list = []

# Mounted with the incident pages: sources, deliveries.
source_patterns: list = []
