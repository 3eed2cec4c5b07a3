"""Everything after the model: track-level scoring of a split, calibration, the metric, and
the one rule that says which of two evaluated models is better.

:class:`~waveform_mir.evaluation.evaluator.TrackEvaluator` is the evaluator ``train``,
``evaluate``, ``ablate`` and the baselines share: chunk loaders built once per split, chunk
scores averaged per track, scored by :class:`~waveform_mir.evaluation.metrics.GenreMetric`.
"""
