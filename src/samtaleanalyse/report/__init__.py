"""Reports people open in a browser: the batch dashboard and per-conversation pages, self-contained HTML
rendered from ``conversations.jsonl`` records."""
