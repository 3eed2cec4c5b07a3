"""decode_audio: every format, rate and channel count to float32 mono; clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_tone

from waveform_mir.data import AudioDecodeError, decode_audio


def dominant_frequency(wave: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(wave.shape[0])))
    return float(np.argmax(spectrum) * sample_rate / wave.shape[0])


@pytest.mark.parametrize(
    ("suffix", "rate", "channels"),
    [("wav", 44100, 2), ("wav", 8000, 1), ("flac", 22050, 2), ("flac", 48000, 1),
     ("mp3", 44100, 2), ("mp3", 22050, 1), ("ogg", 32000, 1)],
)
def test_decodes_to_target_rate_mono(tmp_path, suffix, rate, channels):
    path = write_tone(tmp_path / f"t.{suffix}", 440.0, 1.5, rate, channels)
    wave = decode_audio(path, 16000)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert abs(wave.shape[0] - 1.5 * 16000) < 0.06 * 16000  # MP3 adds encoder padding
    assert np.abs(wave).max() <= 1.0
    assert abs(dominant_frequency(wave, 16000) - 440.0) < 2.0


def test_bytes_decode_like_the_file(tmp_path):
    path = write_tone(tmp_path / "t.mp3", 330.0, 1.0, 22050)
    from_bytes = decode_audio(path.read_bytes(), 16000)
    np.testing.assert_array_equal(from_bytes, decode_audio(path, 16000))


def test_max_seconds_reads_only_the_start(tmp_path):
    path = write_tone(tmp_path / "t.flac", 440.0, 3.0, 22050)
    assert decode_audio(path, 8000, max_seconds=1.0).shape[0] == 8000


def test_same_rate_is_not_resampled(tmp_path):
    path = write_tone(tmp_path / "t.wav", 440.0, 0.5, 16000)
    wave = decode_audio(path, 16000)
    np.testing.assert_allclose(wave[:100], 0.5 * np.sin(2 * np.pi * 440 * np.arange(100) / 16000),
                               atol=1e-4)


def _errors(tmp_path):
    mp3 = write_tone(tmp_path / "full.mp3", 440.0, 2.0, 22050).read_bytes()
    return {
        "empty": (b"", "empty"),
        "truncated": (mp3[: len(mp3) // 2], "truncated"),
        "cut to its header": (mp3[:300], "not decodable"),
        "not audio": (b"<html>not found</html>" * 20, "not decodable"),
    }


@pytest.mark.parametrize("case", ["empty", "truncated", "cut to its header", "not audio"])
def test_bad_bytes_raise_one_clear_error(tmp_path, case):
    data, reason = _errors(tmp_path)[case]
    with pytest.raises(AudioDecodeError, match=f"song.mp3: .*{reason}") as info:
        decode_audio(data, 16000, name="song.mp3")
    assert info.value.name == "song.mp3" and reason in info.value.reason
    assert info.value.__cause__ is None  # no library traceback chained


def test_bad_files_name_the_file(tmp_path):
    (tmp_path / "empty.mp3").write_bytes(b"")
    with pytest.raises(AudioDecodeError, match="empty.mp3: empty file"):
        decode_audio(tmp_path / "empty.mp3", 16000)
    with pytest.raises(AudioDecodeError, match="missing.wav: file not found"):
        decode_audio(tmp_path / "missing.wav", 16000)


def test_too_short(tmp_path):
    path = write_tone(tmp_path / "short.wav", 440.0, 0.5, 16000)
    with pytest.raises(AudioDecodeError, match="too short: 0.50 s < minimum 2 s"):
        decode_audio(path, 16000, min_seconds=2.0)


def test_is_a_value_error():
    assert issubclass(AudioDecodeError, ValueError)
