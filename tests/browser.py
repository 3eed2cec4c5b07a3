"""Headless Debian Chromium through Selenium and the system chromedriver, or a skip reason.

Nothing is downloaded: Selenium is pointed at ``/usr/bin/chromium`` and
``/usr/bin/chromedriver`` (Debian's ``chromium`` and ``chromium-driver`` packages), and every
flag that would make the browser phone home is set.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,1000",
)


def _system_binary(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def missing_browser_reason() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when they can."""
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install selenium)"
    if _system_binary("chromium", "chromium-browser") is None:
        return "Chromium not found (apt-get install chromium)"
    if _system_binary("chromedriver") is None:
        return "chromedriver not found (apt-get install chromium-driver)"
    return None


def start_chromium(user_data_dir: Path):
    """A headless Chromium WebDriver with a fresh profile in ``user_data_dir``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _system_binary("chromium", "chromium-browser")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(_system_binary("chromedriver")), options=options)


def free_loopback_port() -> int:
    """A port nothing listens on now, for a page under test."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
