"""Printing a rendered report to PDF with headless Chromium (when it is installed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from mops.errors import UsageError

#: Tried in this order; ``MOPS_CHROMIUM`` names a binary explicitly.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

#: No first-run work, no background traffic, no sync: the browser only prints the file.
QUIET_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-default-apps", "--disable-extensions", "--mute-audio",
               "--no-default-browser-check")


def find_chromium() -> str | None:
    """The Chromium (or Chrome) binary to use, or None when none is installed."""
    explicit = os.environ.get("MOPS_CHROMIUM")
    if explicit:
        return shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def run_chromium(args: list[str], *, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """Run headless Chromium with a throw-away profile; ``args`` are the page-specific flags."""
    binary = find_chromium()
    if binary is None:
        raise UsageError("--pdf needs Chromium, which is not installed: install it (e.g. "
                         "`apt-get install chromium`), or set MOPS_CHROMIUM to a Chromium or "
                         "Chrome binary; or open the HTML report and print it from a browser")
    with tempfile.TemporaryDirectory(prefix="mops-chromium-") as profile:
        cmd = [binary, *QUIET_FLAGS, f"--user-data-dir={profile}", *args]
        try:
            return subprocess.run(cmd, capture_output=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise UsageError(f"Chromium did not finish within {timeout:.0f} s") from None


def print_pdf(html_path: Path, pdf_path: Path) -> Path:
    """Print ``html_path`` to ``pdf_path`` (A4, as the report's print CSS lays it out)."""
    pdf_path = Path(pdf_path).resolve()
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    pdf_path.unlink(missing_ok=True)
    # The outline (bookmarks) comes from the report's headings.
    proc = run_chromium([f"--print-to-pdf={pdf_path}", "--no-pdf-header-footer",
                         "--generate-pdf-document-outline",
                         Path(html_path).resolve().as_uri()])
    if not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise UsageError(f"Chromium did not write {pdf_path} (exit {proc.returncode})"
                         + (": " + " | ".join(tail) if tail else ""))
    return pdf_path
