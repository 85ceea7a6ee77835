"""Training and evaluation of samtaleanalyse's turn models (imports the package, never the reverse)."""
