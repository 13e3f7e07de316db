"""The HTML report: self-contained, escaped, opening with a status summary; charts zoomed to
the data with the cutoff in view, client and therapist on one chart, marks matching the
alerts with a legend; rendered and measured in headless Chromium.

The browser test does not skip: where Chromium is missing it fails with the reason (`.ci/run`
installs it; set ALLIANCE_CHROMIUM to use another Chromium-family binary)."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.cli import app
from alliance_cli.clinic.store import Store
from alliance_cli.result import score
from tests.helpers import MARKUP_NOTE, build_history, record


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def write_report(db: Path, client: str, out: Path) -> Path:
    result = CliRunner().invoke(app, ["report", client, "-o", str(out), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote {out}\n"
    return out


@pytest.fixture
def report_file(tmp_path: Path) -> Path:
    db = tmp_path / "h.sqlite3"
    srs, wai, wait = (Catalog().get(q) for q in ("srs", "wai-sr", "wai-sr-t"))
    with Store(db) as store:
        store.new_client("C-R")
        for n, answers in enumerate(["9.5,9.5,9.5,9.5", "9,9,9,9", "6,6,6,6", "9.5,9,9,9"], 1):
            record(
                store,
                srs,
                score(srs, answers),
                client="C-R",
                session=n,
                clinician="<script>alert(1)</script>",
                modality="video",
                note="<b>not bold</b> & [x1]" if n == 2 else None,
            )
        for n in (1, 2):
            record(store, wai, score(wai, "5,5,5,5,5,5,5,5,5,5,5,5"), client="C-R", session=n)
            record(store, wait, score(wait, "4,4,4,4,4,4,4,4,4,4,4,4"), client="C-R", session=n)
    return write_report(db, "C-R", tmp_path / "report.html")


@pytest.fixture
def realistic_report(tmp_path: Path) -> Path:
    db = tmp_path / "real.sqlite3"
    return write_report(db, build_history(db), tmp_path / "real.html")


def test_report_is_private_self_contained_and_escaped(report_file: Path) -> None:
    assert stat.S_IMODE(report_file.stat().st_mode) == 0o600
    html = report_file.read_text("utf-8")
    parser = Collect()
    parser.feed(html)
    tags = parser.tags
    # No network: nothing is loaded from elsewhere.
    assert not [t for t in tags if t[0] in ("script", "link", "img", "iframe")]
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;not bold&lt;/b&gt; &amp; [x1]" in html  # the note, escaped, verbatim
    # Client and therapist WAI-SR on one chart: SRS and WAI-SR charts, three series.
    charts = [a for t, a in tags if t == "svg"]
    assert [c["data-scale"] for c in charts] == ["total", "total"]
    respondents = [a["data-respondent"] for t, a in tags if t == "polyline"]
    assert respondents == ["client", "client", "therapist"]
    assert sum(1 for t, a in tags if a.get("class") == "point") == 4 + 2 + 2
    assert any(t == "line" and a.get("class") == "cutoff" for t, a in tags)  # SRS below 36
    rules = [a["data-rule"] for t, a in tags if t == "div" and "data-rule" in a]
    assert "cutoff" in rules and "drop" in rules
    assert "Client and therapist" in html and "gap stable" in html


def test_report_opens_with_the_status_and_groups_repeated_alerts(realistic_report: Path) -> None:
    html = realistic_report.read_text("utf-8")
    parser = Collect()
    parser.feed(html)
    text = " ".join(" ".join(parser.text).split())
    # The status summary comes before anything else of substance.
    assert html.index('<section id="status">') < html.index("<svg")
    status = text[text.index("Status") : text.index("Outcome Rating Scale")]
    assert "clinically significant change" in status
    # ORS: recovered (18 → 33, at least 5 points, crossing 25); SRS has a cutoff but no
    # reference for reliable change yet; WAI-SR has no cutoff to judge it by.
    assert (
        "ors (client) Total 9, 2026-09-27 33 +0.7 +15 none now (1 earlier, below) recovered"
        in status
    )
    assert (
        "srs (client) Total 9, 2026-09-27 withheld – ±0 ○ score missing or withheld "
        "not computed (see the alerts)" in status
    )
    assert "wai-sr (client) Total 4, 2026-09-12 4.92 +2 -0.08" in status
    assert status.count("none: no cutoff") == 2  # wai-sr and wai-sr-t
    # Repeated alerts told once, with the source once; every session's note.
    assert "! Total below 25 in sessions 1–7 (18, 20, 21, 23, 23, 24.5, 24)" in text
    assert text.count("ORS adult clinical cutoff 25 (Miller et al. 2003)") == 1
    assert MARKUP_NOTE in text
    # Marks: the same symbols as the text chart, none for an information note, a legend.
    ors_marks = re.findall(r'class="label mark"[^>]*data-session="(\d+)"><title>([^<]*)', html)
    assert [n for n, meaning in ors_marks if meaning == "past the cutoff"] == [
        str(n) for n in range(1, 8)
    ]
    wai = html[html.index("Working Alliance Inventory") :]
    # WAI-SR session 3: a repaired rupture (information, no mark), a prompt ("?") and the
    # client–therapist gap swinging beyond the divergence rule (a concern, "≠", which
    # outranks the prompt).
    assert re.findall(r'data-session="3"><title>[^<]*</title>([^<]*)<', wai) == ["≠"]
    assert "<span><b>≠</b> client and therapist ratings diverge</span>" in wai
    # Charts zoom to the data: ORS runs 18–33 with its cutoff 25, no 0 or 40 tick.
    ors_svg = html[html.index("<svg") : html.index("</svg>")]
    tick_values = [float(v) for v in re.findall(r'class="label tick"[^>]*>([\d.]+)<', ors_svg)]
    assert min(tick_values) >= 15 and max(tick_values) <= 35
    assert "cutoff 25" in ors_svg


# ---------------------------------------------------------------------------------------
# In a real browser.

MEASURE = """
<script>
(function () {
  var found = {charts: [], overlaps: [], status: null, height: 0};
  function box(r, pad) {
    return {left: r.left - pad, right: r.right + pad, top: r.top - pad, bottom: r.bottom + pad};
  }
  function hit(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }
  document.querySelectorAll('svg.chart').forEach(function (svg, c) {
    var labels = Array.prototype.map.call(svg.querySelectorAll('text'), function (t) {
      return {text: t.textContent, r: box(t.getBoundingClientRect(), 0)};
    });
    var shapes = [];
    svg.querySelectorAll('.point, line').forEach(function (e) {
      shapes.push({what: e.tagName + '.' + e.getAttribute('class'),
                   r: box(e.getBoundingClientRect(), 1)});
    });
    svg.querySelectorAll('polyline').forEach(function (p) {
      var m = p.getScreenCTM(), pts = p.points;
      for (var i = 1; i < pts.numberOfItems; i++) {
        var a = pts.getItem(i - 1), b = pts.getItem(i);
        for (var s = 0; s <= 50; s++) {
          var q = new DOMPoint(a.x + (b.x - a.x) * s / 50, a.y + (b.y - a.y) * s / 50)
            .matrixTransform(m);
          shapes.push({what: 'polyline', r: {left: q.x - 1, right: q.x + 1,
                                              top: q.y - 1, bottom: q.y + 1}});
        }
      }
    });
    labels.forEach(function (l, i) {
      shapes.forEach(function (s) {
        if (hit(l.r, s.r)) found.overlaps.push([c, l.text, s.what]);
      });
      labels.slice(i + 1).forEach(function (o) {
        if (hit(l.r, o.r)) found.overlaps.push([c, l.text, o.text]);
      });
    });
    var r = svg.getBoundingClientRect();
    found.charts.push({left: r.left + scrollX, top: r.top + scrollY, width: r.width,
                       height: r.height, labels: labels.length,
                       points: svg.querySelectorAll('.point').length,
                       series: new Set(Array.prototype.map.call(
                         svg.querySelectorAll('polyline'),
                         function (p) { return p.getAttribute('data-respondent'); })).size});
  });
  var st = document.getElementById('status');
  if (st) {
    var r = st.getBoundingClientRect(), css = getComputedStyle(st);
    var first = document.querySelector('svg.chart');
    found.status = {top: r.top + scrollY, width: r.width, height: r.height,
                    display: css.display, visibility: css.visibility, opacity: css.opacity,
                    rows: st.querySelectorAll('tbody tr').length,
                    beforeFirstChart: !first || r.bottom <= first.getBoundingClientRect().top,
                    viewport: innerHeight};
  }
  found.height = document.documentElement.scrollHeight;
  var pre = document.createElement('pre');
  pre.id = 'layout-check';
  pre.textContent = JSON.stringify(found);
  document.body.appendChild(pre);
})();
</script>
"""


def chromium() -> str:
    found = os.environ.get("ALLIANCE_CHROMIUM") or shutil.which("chromium")
    found = found or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not found:
        pytest.fail(
            "Chromium is not installed, so the HTML report cannot be checked in a browser: "
            "install it (`apt-get install chromium`; .ci/run does) or set ALLIANCE_CHROMIUM"
        )
    return found


def browse(binary: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={tmp / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def read_png(data: bytes, rows: int) -> tuple[int, int, list[bytes]]:
    """Width, bytes per pixel and the first ``rows`` rows of an 8-bit RGB(A) PNG, unfiltered."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, bpp = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, _, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    out: list[bytes] = []
    prev = bytearray(stride)
    for y in range(rows):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append(bytes(line))
        prev = line
    return width, bpp, out


@pytest.mark.slow
def test_report_in_headless_chromium_has_clear_labels_a_visible_status_and_drawn_charts(
    realistic_report: Path, tmp_path: Path
) -> None:
    binary = chromium()
    # 1. The layout, measured by the browser in a copy of the report with a small script.
    probe = tmp_path / "probe.html"
    probe.write_text(
        realistic_report.read_text("utf-8").replace("</body>", MEASURE + "</body>"), "utf-8"
    )
    dom = browse(binary, tmp_path, "--window-size=1000,900", "--dump-dom", probe.as_uri()).stdout
    match = re.search(r'<pre id="layout-check">(.*?)</pre>', dom, re.S)
    assert match, "the measuring script did not run: " + dom[-500:]
    found = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert found["overlaps"] == []  # no label touches a point, a line or another label
    charts = found["charts"]
    # ORS, SRS, and WAI-SR with WAI-SR-T on one chart (two series).
    assert [(c["points"], c["series"]) for c in charts] == [(9, 1), (8, 1), (8, 2)]
    assert all(c["width"] > 300 and c["height"] > 150 for c in charts)
    status = found["status"]
    assert status is not None, "no status summary"
    assert status["rows"] == 4 and status["beforeFirstChart"]
    assert (status["display"], status["visibility"], status["opacity"]) == ("block", "visible", "1")
    assert status["width"] > 300 and status["height"] > 80
    assert status["top"] < status["viewport"]  # the report opens with it

    # 2. The pixels: each chart's area shows the series drawn in its colours.
    shot = tmp_path / "shot.png"
    bottom = int(max(c["top"] + c["height"] for c in charts)) + 2
    browse(
        binary,
        tmp_path,
        f"--window-size=1000,{bottom}",
        f"--screenshot={shot}",
        realistic_report.as_uri(),
    )
    width, bpp, rows = read_png(shot.read_bytes(), bottom)
    blue, orange = (0x2F, 0x6D, 0xB5), (0xC2, 0x58, 0x0A)
    for c in charts:
        counts = {"ink": 0, blue: 0, orange: 0}
        for y in range(int(c["top"]), int(c["top"] + c["height"])):
            row = rows[y]
            for x in range(int(c["left"]), min(int(c["left"] + c["width"]), width)):
                px = tuple(row[x * bpp : x * bpp + 3])
                if px != (255, 255, 255):
                    counts["ink"] += 1
                for colour in (blue, orange):
                    if all(abs(p - q) < 40 for p, q in zip(px, colour, strict=True)):
                        counts[colour] += 1
        area = c["width"] * c["height"]
        assert 0.01 * area < counts["ink"] < 0.5 * area, c
        assert counts[blue] > 400, c  # the client's line and points
        if c["series"] == 2:
            assert counts[orange] > 400, c  # the therapist's


def test_many_sessions_keep_their_labels_apart_in_both_charts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """44 sessions: the SVG labels every few sessions (never closer than 24 px, the latest
    always), the 80-column text chart shows the latest sessions it can fit and says so, and
    its legend explains only the marks it shows."""
    db = tmp_path / "many.sqlite3"
    srs = Catalog().get("srs")
    with Store(db) as store:
        for n in range(1, 45):
            v = 6 if n == 3 else 9.5  # a fall at session 3 only, long before the end
            record(store, srs, score(srs, f"{v},{v},{v},{v}"), client="C-M", session=n)
    html = write_report(db, "C-M", tmp_path / "many.html").read_text("utf-8")
    xs = [float(x) for x in re.findall(r'class="label session" x="([\d.]+)"', html)]
    assert min(b - a for a, b in pairwise(xs)) >= 24
    assert re.findall(r'class="label session"[^>]*>(\d+)<', html)[-1] == "44"
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    text = CliRunner().invoke(app, ["history", "C-M", "--db", str(db)]).stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "(sessions 1–28 not charted: too many to fit; the table above has them all)" in text
    assert "marks:" not in text  # the fall at session 3 is not in the chart
    assert "▼ Session 3: Total fell" in text or "▼ Total fell" in text
