"""Page URLs of incidents, models and insights (namespace ``incidents``)."""

incident_patterns: list = []
