"""FMA download: resume over HTTP Range, checksum verification, safe unpacking, clear errors."""

from __future__ import annotations

import argparse
import hashlib
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from waveform_mir.commands import download as download_command
from waveform_mir.data import download
from waveform_mir.data.download import DownloadError, download_fma, fetch, verify_and_unpack


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return path


def _sha1(path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


class _RangeHandler(BaseHTTPRequestHandler):
    """Serves ``server.files`` and honours ``Range: bytes=N-`` like the FMA mirror."""

    def do_GET(self):  # noqa: N802 - http.server's naming
        data = self.server.files.get(self.path.lstrip("/"))
        if data is None:
            self.send_error(404)
            return
        start = int(self.headers.get("Range", "bytes=0-")[6:].rstrip("-") or 0)
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    httpd.files = {}
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_verify_and_unpack(tmp_path):
    archive = _zip(tmp_path / "fma_metadata.zip", {"fma_metadata/tracks.csv": b"a,b\n"})
    marker = verify_and_unpack(archive, _sha1(archive), tmp_path / "out")
    assert (tmp_path / "out" / "fma_metadata" / "tracks.csv").read_bytes() == b"a,b\n"
    assert marker.name == ".fma_metadata.unpacked"


def test_checksum_mismatch_deletes_the_archive(tmp_path):
    archive = _zip(tmp_path / "fma_small.zip", {"x": b"1"})
    with pytest.raises(DownloadError, match="fma_small.zip: SHA-1 .* does not match"):
        verify_and_unpack(archive, "0" * 40, tmp_path / "out")
    assert not archive.exists() and not (tmp_path / "out" / "x").exists()


def test_unsafe_and_broken_archives_are_refused(tmp_path):
    evil = _zip(tmp_path / "evil.zip", {"../escape.txt": b"no"})
    with pytest.raises(DownloadError, match="unsafe member path"):
        verify_and_unpack(evil, _sha1(evil), tmp_path / "out")
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK not really")
    with pytest.raises(DownloadError, match="not a valid zip"):
        verify_and_unpack(broken, _sha1(broken), tmp_path / "out")


def test_fetch_resumes_a_partial_download(tmp_path, server):
    payload = bytes(range(256)) * 4000
    server.files["big.bin"] = payload
    target = tmp_path / "big.bin"
    (tmp_path / "big.bin.part").write_bytes(payload[:300000])
    fetch(f"http://127.0.0.1:{server.server_port}/big.bin", target, progress=False)
    assert target.read_bytes() == payload and not (tmp_path / "big.bin.part").exists()


def test_download_fma_end_to_end_and_idempotent(tmp_path, server, monkeypatch):
    for name, member in (("fma_metadata.zip", "fma_metadata/genres.csv"),
                         ("fma_small.zip", "fma_small/000/000002.mp3")):
        archive = _zip(tmp_path / name, {member: b"data"})
        server.files[name] = archive.read_bytes()
        monkeypatch.setitem(download.FMA_SHA1, name, _sha1(archive))
        archive.unlink()
    url = f"http://127.0.0.1:{server.server_port}/"
    root = download_fma("small", tmp_path / "fma", progress=False, base_url=url)
    assert (root / "fma_small" / "000" / "000002.mp3").read_bytes() == b"data"
    assert not (root / "fma_small.zip").exists()
    server.files.clear()  # a second call must not need the network
    assert download_fma("small", tmp_path / "fma", progress=False, base_url=url) == root


def test_offline_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(download, "FMA_URL", "http://127.0.0.1:9/")
    parser = argparse.ArgumentParser()
    download_command.register(parser.add_subparsers())
    args = parser.parse_args(["download", "fma", "--size", "small", "--to", str(tmp_path),
                              "--no-progress"])
    assert args.func(args) == 1
    err = capsys.readouterr().err
    assert "could not download http://127.0.0.1:9/fma_metadata.zip" in err
    assert "Traceback" not in err


def test_unknown_size(tmp_path):
    with pytest.raises(DownloadError, match="unknown FMA size 'huge'"):
        download_fma("huge", tmp_path)
