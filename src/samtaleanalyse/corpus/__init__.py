"""The annotated corpus: loading, validation, statistics, splits and annotation-tool round trips."""
from .io import write_corpus
from .labelstudio import ImportReport, export_tasks, import_annotations, labelling_config
from .model import LabelledConversation, LabelledTurn, iter_corpus, load_corpus, parse_record
from .split import assign_splits
from .stats import corpus_stats, format_markdown, shortfalls
from .validate import Problem, validate_corpus

__all__ = ["ImportReport", "LabelledConversation", "LabelledTurn", "Problem", "assign_splits", "corpus_stats",
           "export_tasks", "format_markdown", "import_annotations", "iter_corpus", "labelling_config",
           "load_corpus", "parse_record", "shortfalls", "validate_corpus", "write_corpus"]
