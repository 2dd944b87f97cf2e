"""The report in a real headless Chromium: nothing is fetched, and the page is not blank."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mops.report.pdf import find_chromium, run_chromium
from tests.conftest import Mops, missing_tool
from tests.report.helpers import History
from tests.report.png import read_png

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(missing_tool(find_chromium() is not None),
                       reason="Chromium is not installed (apt-get install chromium); CI installs it"),
]

#: Chromium's own services (time, component updates, sign-in) that it contacts whatever
#: page it shows, even with background networking disabled. A page reaching these
#: would still be caught by the static check of the HTML (`external_references`).
BROWSER_SERVICES = ("google.com", "googleapis.com", "gstatic.com", "gvt1.com")


class RecordingProxy:
    """A local HTTP proxy that records the first line of every request and answers nothing.

    Chromium is pointed at it with --proxy-server, so any http(s) fetch the page
    attempts (whatever the host: no DNS is needed through a proxy) lands here.
    """

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    first = conn.recv(8192).split(b"\r\n", 1)[0]
                except OSError:
                    first = b"(no request line)"
                self.requests.append(first.decode("latin-1"))

    def close(self) -> None:
        self.sock.close()

    def page_requests(self) -> list[str]:
        def host(line: str) -> str:
            parts = line.split()
            target = parts[1] if len(parts) > 1 else ""
            target = target.split("://", 1)[-1]
            return target.split("/", 1)[0].split(":", 1)[0].lower()

        return [r for r in self.requests
                if not any(host(r) == s or host(r).endswith("." + s) for s in BROWSER_SERVICES)]


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    p = RecordingProxy()
    yield p
    p.close()


def load(page: Path, proxy: RecordingProxy) -> str:
    """Open the page headless through the recording proxy; returns the DOM after load."""
    proc = run_chromium([f"--proxy-server=http://127.0.0.1:{proxy.port}",
                         "--proxy-bypass-list=<-loopback>", "--dump-dom", page.resolve().as_uri()])
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    return proc.stdout.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def report(history: History, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "report.html"
    Mops(history.repo)("audit", "--out", str(out))
    return out


INJECTED = '<img src="http://example.test/x.png" alt="probe">'


def _inject(html: str, *, keep_csp: bool) -> str:
    if not keep_csp:
        start = html.index('<meta http-equiv="Content-Security-Policy"')
        html = html[:start] + html[html.index(">", start) + 1:]
    return html.replace("</main>", INJECTED + "</main>", 1)


def test_opening_the_report_requests_nothing(report: Path, proxy: RecordingProxy):
    dom = load(report, proxy)
    assert "Acme test inventory" in dom and "model-credit-pd" in dom  # it did load
    assert proxy.page_requests() == []


def test_the_detector_sees_an_injected_image(report: Path, proxy: RecordingProxy, tmp_path: Path):
    """Proof that the check above can fail: the same report with one remote image."""
    page = tmp_path / "injected.html"
    page.write_text(_inject(report.read_text(), keep_csp=False))
    load(page, proxy)
    assert any("example.test" in r for r in proxy.page_requests()), proxy.requests


def test_the_reports_csp_blocks_an_injected_image(report: Path, proxy: RecordingProxy,
                                                   tmp_path: Path):
    """Defence in depth: had a template let a remote image through, the CSP stops the fetch."""
    page = tmp_path / "injected-csp.html"
    page.write_text(_inject(report.read_text(), keep_csp=True))
    load(page, proxy)
    assert proxy.page_requests() == []


def ink(png: bytes) -> tuple[float, float]:
    """(share of dark pixels, share of non-white pixels) of a screenshot."""
    rgb = read_png(png)[..., :3].astype(int)
    return float((rgb.sum(axis=2) < 300).mean()), float((rgb.min(axis=2) < 240).mean())


def screenshot(page: Path, out: Path) -> bytes:
    proc = run_chromium([f"--screenshot={out}", "--window-size=1200,1600", page.resolve().as_uri()])
    assert proc.returncode == 0 and out.is_file(), proc.stderr.decode(errors="replace")[-2000:]
    return out.read_bytes()


def test_screenshot_is_not_blank(report: Path, tmp_path: Path):
    dark, coloured = ink(screenshot(report, tmp_path / "report.png"))
    # Measured on the test report: ~2 % dark (text), ~7 % non-white. A blank page is 0.
    assert dark > 0.005 and coloured > 0.02, (dark, coloured)


def test_screenshot_check_fails_on_a_blank_page(tmp_path: Path):
    blank = tmp_path / "blank.html"
    blank.write_text('<!DOCTYPE html><html lang="en"><title>x</title><body></body></html>')
    dark, coloured = ink(screenshot(blank, tmp_path / "blank.png"))
    assert not (dark > 0.005 and coloured > 0.02)


def test_pdf(history: History, tmp_path: Path):
    r = Mops(history.repo)("audit", "--out", str(tmp_path / "r.html"), "--pdf",
                           str(tmp_path / "r.pdf"))
    assert r.stdout.splitlines() == [str(tmp_path / "r.html"), str(tmp_path / "r.pdf")]
    pdf = (tmp_path / "r.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 3  # cover + one per model
    r = Mops(history.repo)("audit", "--pdf", str(tmp_path / "only.pdf"))
    assert r.stdout.strip() == str(tmp_path / "only.pdf")  # no HTML kept


# ----------------------------------------------------------------------------- accessibility


def axe_js() -> Path | None:
    """axe-core's axe.min.js from the npm registry (.ci/run installs it into the venv as
    ``<venv>/axe``; MOPS_AXE_JS names another copy)."""
    import os
    import sys

    named = os.environ.get("MOPS_AXE_JS")
    candidates = [Path(named)] if named else []
    candidates += [Path(sys.prefix) / "axe/node_modules/axe-core/axe.min.js",
                   Path(__file__).resolve().parents[2] / ".venv/axe/node_modules/axe-core/axe.min.js"]
    return next((c for c in candidates if c.is_file()), None)


RUN_AXE = """
axe.run(document, {resultTypes: ['violations']}).then(function (r) {
  var out = document.createElement('pre'); out.id = 'axe-result';
  out.textContent = JSON.stringify(r.violations.map(function (v) {
    return {id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(function (n) { return n.target.join(' '); })}; }));
  document.body.appendChild(out);
}, function (e) {
  var out = document.createElement('pre'); out.id = 'axe-result';
  out.textContent = 'ERROR ' + e; document.body.appendChild(out);
});
"""


def axe_violations(html: str, tmp_path: Path) -> list[dict]:
    """axe-core's violations for ``html``, run in headless Chromium on a copy of the page
    with axe inlined (the report's own CSP forbids scripts, so it is taken out of the copy)."""
    import json
    import re

    js = axe_js()
    assert js is not None
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html, count=1)
    script = f"<script>{js.read_text()}</script><script>{RUN_AXE}</script>"
    page = tmp_path / "axe.html"
    page.write_text(html.replace("</body>", script + "</body>", 1))
    proc = run_chromium(["--virtual-time-budget=60000", "--dump-dom", page.resolve().as_uri()],
                        timeout=300)
    dom = proc.stdout.decode("utf-8", "replace")
    found = re.search(r'<pre id="axe-result">(.*?)</pre>', dom, re.S)
    assert found, "axe-core did not report: " + proc.stderr.decode(errors="replace")[-2000:]
    import html as htmllib

    text = htmllib.unescape(found.group(1))
    assert not text.startswith("ERROR"), text
    return json.loads(text)


needs_axe = pytest.mark.skipif(missing_tool(axe_js() is not None),
                               reason="axe-core is not installed (.ci/run installs it: npm install "
                                      "--prefix <venv>/axe axe-core)")


@needs_axe
def test_axe_core_finds_no_violations(report: Path, tmp_path: Path):
    assert axe_violations(report.read_text(), tmp_path) == []


@needs_axe
def test_axe_core_sees_a_planted_violation(report: Path, tmp_path: Path):
    """The twin: the same report with two models' regions given one name is reported."""
    html = report.read_text().replace('aria-labelledby="model-credit-pd-card model-credit-pd-title"',
                                      'aria-labelledby="model-fraud-detect-card '
                                      'model-fraud-detect-title"', 1)
    assert "landmark-unique" in {v["id"] for v in axe_violations(html, tmp_path)}


# ----------------------------------------------------------------------------- PDF outline


def pdf_outline(pdf: bytes) -> list[str]:
    """The titles of a PDF's outline items (bookmarks): objects with /Parent and /Title,
    as Chromium writes them (uncompressed dictionaries, literal or UTF-16 hex strings)."""
    import re

    titles = []
    for obj in re.findall(rb"\d+ 0 obj\s*<<(.*?)>>\s*endobj", pdf, re.S):
        if b"/Parent" not in obj:
            continue
        lit = re.search(rb"/Title\s*\(((?:\\.|[^\\)])*)\)", obj, re.S)
        hexed = re.search(rb"/Title\s*<([0-9A-Fa-f\s]*)>", obj)
        if lit:
            titles.append(re.sub(rb"\\(.)", rb"\1", lit.group(1)).decode("latin-1"))
        elif hexed:
            raw = bytes.fromhex(hexed.group(1).decode().replace(" ", ""))
            titles.append(raw.decode("utf-16") if raw[:2] == b"\xfe\xff" else raw.decode("latin-1"))
    return titles


def test_pdf_has_an_outline_of_the_reports_headings(history: History, tmp_path: Path):
    Mops(history.repo)("audit", "--pdf", str(tmp_path / "r.pdf"))
    titles = pdf_outline((tmp_path / "r.pdf").read_bytes())
    for heading in ("Exceptions", "Contents", "About this report", "Inventory summary",
                    "Retail credit PD scorecard (credit-pd)", "Version 1.0.0 · development"):
        assert any(t.startswith(heading) for t in titles), (heading, titles[:30])


def test_pdf_outline_reader_finds_none_without_bookmarks(history: History, tmp_path: Path):
    """The twin: the same report printed without --generate-pdf-document-outline."""
    html = tmp_path / "r.html"
    Mops(history.repo)("audit", "--out", str(html))
    pdf = tmp_path / "plain.pdf"
    run_chromium([f"--print-to-pdf={pdf}", "--no-pdf-header-footer", html.resolve().as_uri()])
    assert pdf_outline(pdf.read_bytes()) == []
