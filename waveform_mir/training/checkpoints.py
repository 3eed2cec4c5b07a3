"""Atomic training-state checkpoints on top of ``accelerator.save_state``.

``save_state`` writes into its target folder file by file, so a run killed mid-save would
leave a folder that looks complete and is not. Here every state is written to a ``.partial``
folder and renamed into place only once all processes have finished writing; ``latest``
therefore always names a checkpoint that loads.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator

CHECKPOINT_PREFIX = "step_"


def checkpoint_dir(output_dir: Path) -> Path:
    return output_dir / "checkpoints"


def list_checkpoints(output_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first (partial ones are ignored)."""
    folder = checkpoint_dir(output_dir)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and p.name.startswith(CHECKPOINT_PREFIX)
             and not p.name.endswith(".partial")]
    return sorted(found, key=lambda p: int(p.name.removeprefix(CHECKPOINT_PREFIX)))


def resolve_resume(output_dir: Path, resume: str | None) -> Path | None:
    """``latest`` → newest complete checkpoint (None when there is none), a path → itself."""
    if resume is None:
        return None
    if resume == "latest":
        found = list_checkpoints(output_dir)
        return found[-1] if found else None
    path = Path(resume)
    if not path.is_dir():
        raise FileNotFoundError(f"checkpoint to resume from not found: {path}")
    return path


def save_checkpoint(accelerator: Accelerator, output_dir: Path, step: int, keep: int,
                    extra: dict) -> Path:
    """Save model, optimiser, scheduler, RNG and ``extra`` state for ``step``; keep the newest
    ``keep`` checkpoints. Collective: every process must call it."""
    final = checkpoint_dir(output_dir) / f"{CHECKPOINT_PREFIX}{step:07d}"
    partial = final.with_name(final.name + ".partial")
    if accelerator.is_main_process and partial.exists():
        shutil.rmtree(partial)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(partial))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (partial / "trainer_state.json").write_text(json.dumps({"step": step, **extra}))
        if final.exists():
            shutil.rmtree(final)
        partial.rename(final)
        for old in list_checkpoints(output_dir)[:-keep] if keep > 0 else []:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(accelerator: Accelerator, path: Path) -> dict:
    """Restore all state saved by :func:`save_checkpoint`; returns its ``trainer_state``."""
    accelerator.load_state(str(path))
    return json.loads((path / "trainer_state.json").read_text())


def seed_step(seed: int, step: int, process_index: int, micro_batch: int = 0) -> None:
    """Seed torch's global RNG from ``(seed, step, process, micro-batch)`` before every
    micro-batch.

    Dropout, SpecAugment and mixup then draw the same numbers at step ``k`` whether the run
    went straight through or was resumed from a checkpoint — whatever else (a data loader
    creating its iterator, an evaluation) consumed random numbers in between — while the
    processes of a distributed run, and the micro-batches of one gradient-accumulation
    window, still draw different ones.
    """
    entropy = np.random.SeedSequence([seed, step, process_index, micro_batch]
                                     ).generate_state(1)[0]
    torch.manual_seed(int(entropy))
