"""Inference at library scale: how a file becomes the model's input, parallel decoding for
many files, and outputs that survive an interruption. The model side stays in
:mod:`waveform_mir.predict`."""
