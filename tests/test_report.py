"""The HTML report: self-contained, escaped, charts present; rendered in headless Chromium
where it is installed."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.cli import app
from alliance_cli.history import record
from alliance_cli.result import score
from alliance_cli.store import Store


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.fixture
def report_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "h.sqlite3"
    monkeypatch.setenv("ALLIANCE_DB", str(db))
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
            )
        for n in (1, 2):
            record(store, wai, score(wai, "5,5,5,5,5,5,5,5,5,5,5,5"), client="C-R", session=n)
            record(store, wait, score(wait, "4,4,4,4,4,4,4,4,4,4,4,4"), client="C-R", session=n)
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", "C-R", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote {out}\n"
    return out


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
    charts = [a for t, a in tags if t == "svg"]
    assert [c["data-scale"] for c in charts] == ["total", "total", "total"]  # srs, wai-sr, -t
    assert sum(1 for t, a in tags if t == "circle") == 4 + 2 + 2
    assert any(t == "line" and a.get("class") == "cutoff" for t, a in tags)  # SRS below 36
    rules = [a["data-rule"] for t, a in tags if t == "div" and "data-rule" in a]
    assert "cutoff" in rules and "drop" in rules
    assert "Client and therapist" in html and "gap stable" in html


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed")
def test_report_renders_in_headless_chromium(report_file: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    profile = tmp_path / "profile"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--window-size=1000,1600",
            f"--screenshot={shot}",
            report_file.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    dom = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            f"--user-data-dir={profile}",
            "--dump-dom",
            report_file.as_uri(),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    ).stdout
    assert dom.count("<svg") == 3 and 'class="series"' in dom
