"""Reports people open in a browser: self-contained HTML pages rendered from ``conversations.jsonl`` records."""
