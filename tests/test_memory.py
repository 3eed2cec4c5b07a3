"""Retaining freed memory: a training step stops faulting its temporaries' pages in again.

How a process allocates is process-wide, so each setting runs in a child process; what is
compared is a count (the kernel's minor page faults over the same steps), not a time.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from waveform_mir.memory import OPT_OUT_VARIABLE, _glibc_mallopt, retain_freed_memory

# Steps of the SincNet filterbank on a batch of 32 one-second crops: its band tensors are
# 17.7 MB each, made and freed several times a step. Prints the faults of steps 4-11.
CHILD = """
import resource, torch
from waveform_mir.memory import retain_freed_memory
from waveform_mir.frontends import build_frontend
torch.set_num_threads(1)
applied = retain_freed_memory()
frontend = build_frontend({"name": "sinc_fbank", "num_filters": 64}, sample_rate=16000)
waveform = 0.1 * torch.randn(32, 16000)
def step():
    frontend.zero_grad(set_to_none=True)
    frontend(waveform).square().mean().backward()
for _ in range(4):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(8):
    step()
print(int(applied), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

glibc_only = pytest.mark.skipif(_glibc_mallopt() is None,
                                reason="the C library is not glibc: nothing to switch")


def faults_over_steps(system_allocator: bool) -> tuple[bool, int]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
    env.pop(OPT_OUT_VARIABLE, None)
    if system_allocator:
        env[OPT_OUT_VARIABLE] = "1"
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                          text=True, timeout=300, check=True)
    applied, faults = done.stdout.split()
    return applied == "1", int(faults)


@glibc_only
def test_retained_memory_is_reused_by_the_next_steps_instead_of_faulted_in_again():
    retained_applied, retained = faults_over_steps(system_allocator=False)
    system_applied, system = faults_over_steps(system_allocator=True)
    assert retained_applied and not system_applied
    pages_per_band_tensor = 32 * 64 * 1080 * 8 // 4096
    assert system > 8 * pages_per_band_tensor, "the system allocator should refault every step"
    assert retained < system / 10, (retained, system)


def test_the_opt_out_variable_keeps_the_system_allocator(monkeypatch):
    monkeypatch.setenv(OPT_OUT_VARIABLE, "1")
    assert retain_freed_memory() is False
