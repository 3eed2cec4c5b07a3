"""Pieces of the training loop in ``waveform_mir.train``, one job per module."""
