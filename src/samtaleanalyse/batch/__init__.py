"""Scoring a batch of inputs into an output folder: streamed, resumable, in parallel, never half-written."""
from .outputs import (CONVERSATIONS_FILE, ERRORS_FILE, FEEDBACK_DIR, MANIFEST_FILE, SUMMARY_FILE, OutputFolder,
                      report_stem)
from .run import score_paths
from .scoring import Scorer, ScorerSpec
from .summary import EXIT_INTERNAL, EXIT_NOTHING_READ, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, BatchSummary

__all__ = ["BatchSummary", "CONVERSATIONS_FILE", "ERRORS_FILE", "EXIT_INTERNAL", "EXIT_NOTHING_READ", "EXIT_OK",
           "EXIT_SOME_FAILED", "EXIT_USAGE", "FEEDBACK_DIR", "MANIFEST_FILE", "OutputFolder", "SUMMARY_FILE",
           "Scorer", "ScorerSpec", "report_stem", "score_paths"]
