"""What redaction finds, as a version a results folder records: results redacted by other rules are not mixed."""

# 2: listed first names capitalised inside a sentence ("your colleague Jonas") are names too.
REDACTION_VERSION = "2"
