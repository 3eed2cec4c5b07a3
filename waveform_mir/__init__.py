"""waveform-mir: music information retrieval from the raw waveform.

Waveform in, genre scores out: a learnable front-end feeds a 1D or 2D CNN backbone and a
classification head, trained under Hugging Face ``accelerate`` on data served through
``datasets``.
"""

__version__ = "0.1.0"
