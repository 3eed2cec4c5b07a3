"""The ``waveform-mir`` sub-commands: one module each, one convention.

Every module here defines ``register(subparsers)``, which adds its parser and sets ``func``
to its ``run(args) -> int``; :mod:`waveform_mir.cli` imports a module only when its command
runs. Options several commands share (a recipe with ``--set`` overrides, ``--model``) are
defined once in :mod:`.options`. The work itself lives in the library (``train``,
``evaluation``, ``predict``, ``ablate``, ``baseline``, ``data``, ``demo``), which imports
no ``argparse``.
"""
