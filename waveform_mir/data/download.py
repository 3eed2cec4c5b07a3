"""Fetch, verify and unpack the FMA archives from their official mirror.

The archives are large (fma_large 93 GiB, fma_full 879 GiB) and the mirror is slow, so a
download resumes from its ``.part`` file with an HTTP Range request, shows one rich progress
bar, and is only accepted if its SHA-1 equals the published checksum; a corrupt archive is
deleted rather than unpacked. Every failure is a :class:`DownloadError` whose message says
what to do next, so the command line can print one line instead of a traceback.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

FMA_URL = "https://os.unil.cloud.switch.ch/fma/"
FMA_SHA1 = {
    "fma_metadata.zip": "f0df49ffe5f2a6008d7dc83c6915b31835dfe733",
    "fma_small.zip": "ade154f733639d52e35e32f5593efe5be76c6d70",
    "fma_medium.zip": "c67b69ea232021025fca9231fc1c7c1a063ab50b",
    "fma_large.zip": "497109f4dd721066b5ce5e5f250ec604dc78939e",
    "fma_full.zip": "0f0ace23fbe9ba30ecb7e95f763e435ea802b8ab",
}
FMA_SIZES = ("small", "medium", "large", "full")
_BLOCK = 1 << 20

Advance = Callable[[int], None]


class DownloadError(RuntimeError):
    """A download, checksum or unpacking failure; the message says what to do next."""


def sha1_of(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, target: Path, *, progress: bool = True, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``target``, resuming a previous ``target.part`` if there is one."""
    part = target.with_name(target.name + ".part")
    done = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={done}-"} if done else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            resumed = response.status == 206
            total = int(response.headers.get("Content-Length") or 0) + (done if resumed else 0)
            with _transfer_bar(target.name, total, done if resumed else 0, progress) as advance, \
                    part.open("ab" if resumed else "wb") as out:
                for block in iter(lambda: response.read(_BLOCK), b""):
                    out.write(block)
                    advance(len(block))
    except urllib.error.HTTPError as error:
        if error.code == 416 and done:  # range past the end: the part file is already complete
            part.replace(target)
            return target
        raise DownloadError(f"could not download {url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(
            f"could not download {url}: {reason}. Check the network connection and run the "
            f"command again (it resumes from {part.name}), or download the file by hand into "
            f"{target.parent}."
        ) from None
    part.replace(target)
    return target


@contextmanager
def _transfer_bar(name: str, total: int, completed: int, enabled: bool) -> Iterator[Advance]:
    """A rich byte-progress bar (silent when disabled) yielding an ``advance(bytes)`` callable."""
    progress = Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeRemainingColumn(), disable=not enabled,
    )
    task = progress.add_task(name, total=total or None, completed=completed)
    with progress:
        yield lambda n: progress.advance(task, n)


def verify(archive: Path, expected_sha1: str) -> None:
    """Raise (and delete the archive) unless its SHA-1 is the published one."""
    actual = sha1_of(archive)
    if actual != expected_sha1:
        archive.unlink()
        raise DownloadError(
            f"{archive.name}: SHA-1 {actual} does not match the published {expected_sha1}; "
            "the corrupt file was deleted, run the command again to download it afresh"
        )


def unpack(archive: Path, destination: Path) -> None:
    """Extract a zip into ``destination``, refusing members that would land outside it."""
    destination = destination.resolve()
    try:
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.namelist():
                if not (destination / member).resolve().is_relative_to(destination):
                    raise DownloadError(f"{archive.name}: unsafe member path {member!r}")
            bundle.extractall(destination)
    except zipfile.BadZipFile as error:
        raise DownloadError(f"{archive.name}: not a valid zip archive ({error})") from None


def verify_and_unpack(archive: Path, expected_sha1: str, destination: Path) -> Path:
    """Check the archive's checksum, unpack it, and leave a marker so re-runs skip it."""
    verify(archive, expected_sha1)
    unpack(archive, destination)
    marker = destination / f".{archive.stem}.unpacked"
    marker.write_text(expected_sha1 + "\n")
    return marker


def download_fma(
    size: str, to: Path, *, progress: bool = True, base_url: str | None = None,
    keep_zip: bool = False,
) -> Path:
    """Fetch ``fma_metadata.zip`` and ``fma_<size>.zip``, verify and unpack them into ``to``.

    Already unpacked archives (marker present) are skipped, so the call is idempotent and a
    failed run can simply be repeated. Returns ``to``, the ``root`` of the ``fma`` builder.
    """
    if size not in FMA_SIZES:
        raise DownloadError(f"unknown FMA size '{size}'; choose from {', '.join(FMA_SIZES)}")
    to = Path(to).expanduser()
    to.mkdir(parents=True, exist_ok=True)
    for name in ("fma_metadata.zip", f"fma_{size}.zip"):
        if (to / f".{Path(name).stem}.unpacked").is_file():
            continue
        archive = to / name
        if not archive.is_file():
            fetch((base_url or FMA_URL) + name, archive, progress=progress)
        verify_and_unpack(archive, FMA_SHA1[name], to)
        if not keep_zip:
            archive.unlink()
    return to
