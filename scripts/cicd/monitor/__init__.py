"""Following a pipeline run, live or finished: progress, a health score, alerts (`cicd monitor`)."""
