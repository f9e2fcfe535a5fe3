from postmortems.views.follow_up_urls import follow_up_patterns

app_name = "postmortems"

urlpatterns: list = []

# Follow-up actions, the learnings library and search.
urlpatterns += follow_up_patterns
