"""The FMA paper's hand-made feature baseline (Defferrard et al. 2017) on a recipe's splits.

:func:`run_baseline` extracts librosa features per chunk (or a trained model's track
embeddings, :mod:`.embeddings`; both cached), fits scikit-learn classifiers chosen on
validation and scores test tracks with the package's metric.
"""

from .run import run_baseline

__all__ = ["run_baseline"]
