"""Reports for people: the batch dashboard (dashboard.py) and per-conversation pages."""
