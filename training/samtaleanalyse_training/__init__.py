"""Training and evaluation of samtaleanalyse's turn models (imports the package, never the reverse).

Where things live (one home each):

- ``config.py``: the settings of a run (``TrainConfig``, read from ``training/configs/*.toml``);
- ``data.py``: the corpus as turn examples; ``extra_data.py``: the Twitter train part and ASR-noised calls
  a config may add (``augment_asr.py`` makes the latter), never in dev or test; ``augment_swaps.py``: the
  train conversations under the robustness swaps (``swaps.py``), labels kept (``reencode --augment-swaps``);
- ``fitting.py``: fitting the heads, thresholds and temperature (library code: ``fit``);
- ``train.py``: the run (``samtaleanalyse train``): fit, save, card, baseline and leave-one-language-out;
- ``metrics.py``: the one precision/recall/F1/macro-F1 implementation; ``evaluate.py`` (turn labels),
  ``findings_eval.py`` (findings), ``real_text.py`` (the labelled Twitter threads) and ``lolo.py`` use it;
- ``card.py``: the model card; ``commands.py``: the CLI commands; ``finetune/``: fine-tuning the encoder;
  ``external/``: readers of public data sets.
"""
