"""Excel inputs and outputs under hostile files and a full disk (issue 11): a sheet is read
from the cells it stores, within a documented limit; a broken workbook is one exit 6 that
names the file and the part; an Excel output that cannot be written leaves its target as it
was and prints no "Exception ignored".

The workbooks are written as XML by hand (zipfile), so that each holds exactly the flaw under
test; the runs that could grow without bound run in a subprocess under a memory limit, so a
regression fails (MemoryError, a traceback) instead of taking the machine."""

from __future__ import annotations

import csv
import re
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance_cli.cli import app
from alliance_cli.research import fileformats
from tests.subprocs import alliance_process, file_size_limit

runner = CliRunner()
ITEMS = [f"wai{i}" for i in range(1, 13)]
ANSWERS = [[5, 5, 5, 5, 4, 4, 4, 4, 4, 4, 4, 4], [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2]]
TIMEOUT = 300  # a run that grows without bound fails here instead of hanging the suite
MEMORY = 3 << 30  # address space of a subprocess: ample for a small sheet, not for 10 GB
MAIN = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)


def write_parts(path: Path, sheet: str, strings: list[str] | None = None) -> Path:
    """A minimal workbook: one sheet named "data" whose XML is ``sheet``, and shared strings
    when given."""
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    has_strings = strings is not None
    types = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
        'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
        f'<Override PartName="/{SHEET}" ContentType="{ct}.worksheet+xml"/>'
        + (
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/>'
            if has_strings
            else ""
        )
        + "</Types>"
    )
    parts = {
        "[Content_Types].xml": types,
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{pkg}"><Relationship '
        f'Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook {MAIN} xmlns:r="{rel}"><sheets>'
        '<sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{pkg}">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
        + (
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
            if has_strings
            else ""
        )
        + "</Relationships>",
        SHEET: sheet,
    }
    if strings is not None:
        parts["xl/sharedStrings.xml"] = (
            f'<?xml version="1.0"?><sst {MAIN}>'
            + "".join(f"<si><t>{s}</t></si>" for s in strings)
            + "</sst>"
        )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def column_letters(n: int) -> str:
    letters = ""
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def cell(ref: str, value: str | int) -> str:
    if isinstance(value, int):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def table_rows() -> list[list[str | int]]:
    return [["id", *ITEMS], *([f"p{k}", *row] for k, row in enumerate(ANSWERS))]


def sheet_xml(rows: list[list[str | int]], *, dimension: str | None = None, extra: str = "") -> str:
    body = "".join(
        f'<row r="{r}">'
        + "".join(cell(f"{column_letters(k)}{r}", v) for k, v in enumerate(row, 1))
        + "</row>"
        for r, row in enumerate(rows, 1)
    )
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0"?><worksheet {MAIN}>{dim}<sheetData>{body}{extra}</sheetData>'
        "</worksheet>"
    )


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def alliance(
    *args: str, limit: int | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m alliance_cli ARGS`` under a memory limit, or with ``ulimit -f LIMIT``
    (bytes)."""
    preexec = _limit_memory if limit is None else file_size_limit(limit)
    return alliance_process(*args, cwd=cwd, timeout=TIMEOUT, preexec_fn=preexec)


# -- only stored cells are read, within a limit ---------------------------------------------------


@pytest.mark.slow
def test_a_cell_at_the_far_corner_is_refused_by_the_grid_it_spans(tmp_path: Path) -> None:
    """The 4.6 KB file of the issue: A1 and XFD1048576. Today the reader lays out the whole
    grid (17 billion cells) and dies of memory; now it is refused by the limit, by name."""
    data = write_parts(
        tmp_path / "corner.xlsx",
        sheet_xml(
            [["id"]],
            dimension="A1:XFD1048576",
            extra=f'<row r="1048576">{cell("XFD1048576", 7)}</row>',
        ),
    )
    assert data.stat().st_size < 5_000
    result = alliance("batch", str(data), "-q", "wai-sr", "-o", str(tmp_path / "out.csv"))
    assert result.stderr == (
        f'error: {data}: sheet "data" spans 1,048,576 rows × 16,384 columns '
        "(17,179,869,184 cells); at most 20,000,000 cells are read from a sheet\n"
        "delete the cells far outside the table (Ctrl+End in Excel goes to the last one)\n"
    )
    assert result.returncode == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corner.xlsx"]


@pytest.mark.slow
def test_a_sheet_declaring_the_whole_grid_is_read_from_its_stored_cells(tmp_path: Path) -> None:
    """A dimension tag claiming A1:XFD1048576 over a table of 40,000 rows: today openpyxl's
    reader widens every row to the declared 16,384 columns (655 million cells, beyond the
    memory limit); the stored cells give the same scores as the same table as CSV."""
    rows: list[list[str | int]] = [
        ["id", *ITEMS],
        *([f"p{k}", *ANSWERS[k % 2]] for k in range(40_000)),
    ]
    data = write_parts(tmp_path / "big.xlsx", sheet_xml(rows, dimension="A1:XFD1048576"))
    same = tmp_path / "same.csv"
    with same.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    result = alliance("batch", str(data), "-q", "wai-sr", "-o", str(tmp_path / "x.csv"))
    assert result.returncode == 0, result.stderr
    reference = alliance("batch", str(same), "-q", "wai-sr", "-o", str(tmp_path / "c.csv"))
    assert reference.returncode == 0, reference.stderr
    scores = (tmp_path / "x.csv").read_text(encoding="utf-8")
    assert scores == (tmp_path / "c.csv").read_text(encoding="utf-8")
    assert len(scores.splitlines()) == 40_001  # the header and every row, no blank rows


def test_a_sheet_storing_more_cells_than_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fileformats, "EXCEL_INPUT_CELLS", 30)
    data = write_parts(tmp_path / "in.xlsx", sheet_xml(table_rows()))  # 39 stored cells
    result = runner.invoke(app, ["batch", str(data), "-q", "wai-sr"])
    assert result.exit_code == 6
    assert result.stderr == (
        f'error: {data}: sheet "data" stores more than 30 cells; at most 30 cells are read '
        "from a sheet\n"
        "delete the cells far outside the table (Ctrl+End in Excel goes to the last one)\n"
    )


def test_the_limit_itself_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fileformats, "EXCEL_INPUT_CELLS", 39)  # 3 rows × 13 columns, all stored
    data = write_parts(tmp_path / "in.xlsx", sheet_xml(table_rows()))
    result = runner.invoke(app, ["batch", str(data), "-q", "wai-sr", "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "o.csv").open(encoding="utf-8")))
    # WAI-SR total: the mean of the 12 answers (INSTRUMENTS.md), by hand from ANSWERS.
    assert [r["wai-sr.total"] for r in rows] == ["4.3333333333", "2.75"]  # 52/12, 33/12


def test_blank_cells_beyond_the_table_do_not_count_for_the_grid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored but empty cells (a formatted or cleared cell far away) are no part of the table
    and do not make it refused."""
    monkeypatch.setattr(fileformats, "EXCEL_INPUT_CELLS", 40)
    far = '<row r="5000"><c r="ZZ5000" t="inlineStr"><is><t> </t></is></c></row>'
    data = write_parts(tmp_path / "in.xlsx", sheet_xml(table_rows(), extra=far))
    result = runner.invoke(app, ["batch", str(data), "-q", "wai-sr", "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.stderr
    assert len((tmp_path / "o.csv").read_text(encoding="utf-8").splitlines()) == 3


# -- a broken workbook is one exit 6 naming the part ----------------------------------------------


def _lol(dimension: bool) -> str:
    """The "billion laughs": ten entities of ten of the one before, nine deep."""
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">' for i in range(1, 10)
    )
    dim = '<dimension ref="A1"/>' if dimension else ""
    return (
        f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><worksheet {MAIN}>{dim}<sheetData>'
        f'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData>'
        "</worksheet>"
    )


def _truncated(dimension: bool) -> str:
    rows = [["id", *ITEMS], *([f"p{k}", *ANSWERS[0]] for k in range(50))]
    text = sheet_xml(rows, dimension="A1:M51" if dimension else None)
    return text[: text.index('<row r="30">')]  # a file cut off in the middle of the rows


BROKEN = {
    # (sheet XML, shared strings, the reason that follows the part)
    "truncated": (_truncated(False), None, r"no element found: line 1, column \d+"),
    "truncated-after-dimension": (_truncated(True), None, r"no element found: line 1, column \d+"),
    "shared-string-index": (
        f'<?xml version="1.0"?><worksheet {MAIN}><sheetData><row r="1"><c r="A1" t="s"><v>0</v>'
        '</c><c r="B1" t="s"><v>7</v></c></row></sheetData></worksheet>',
        ["id"],
        "a cell refers to a shared string the workbook does not have",
    ),
    "entity-expansion": (
        _lol(False),
        None,
        r"limit on input amplification factor \(from DTD and entities\) breached: "
        r"line 1, column \d+",
    ),
    "entity-expansion-after-dimension": (
        _lol(True),
        None,
        r"limit on input amplification factor \(from DTD and entities\) breached: "
        r"line 1, column \d+",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_sheet_is_exit_6_naming_the_file_and_the_part(case: str, tmp_path: Path) -> None:
    sheet, strings, reason = BROKEN[case]
    data = write_parts(tmp_path / "in.xlsx", sheet, strings)
    result = alliance("batch", str(data), "-q", "wai-sr", "-o", str(tmp_path / "out.csv"))
    prefix = re.escape(f"error: {data}: cannot read as .xlsx: part {SHEET}: ")
    assert re.fullmatch(prefix + reason + "\n", result.stderr), result.stderr
    assert result.returncode == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.xlsx"]


def test_a_workbook_without_a_sheet_is_exit_6(tmp_path: Path) -> None:
    """A workbook whose sheet list is empty: today an IndexError traceback."""
    data = write_parts(tmp_path / "in.xlsx", sheet_xml(table_rows()))
    with zipfile.ZipFile(data) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    book = parts["xl/workbook.xml"].decode()
    parts["xl/workbook.xml"] = re.sub("<sheet [^>]*/>", "", book).encode()
    with zipfile.ZipFile(data, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    result = runner.invoke(app, ["batch", str(data), "-q", "wai-sr"])
    assert result.exit_code == 6
    assert result.stderr == f"error: {data}: the workbook has no sheet\n"


@pytest.mark.slow
def test_openpyxl_warnings_stay_off_stderr(tmp_path: Path) -> None:
    """Found by the data-file fuzzing: a sheet entry without its relationship id, which
    openpyxl drops with "UserWarning: File contains an invalid specification ...", printed
    with its source line above our message; the warning is openpyxl's talk to a program that
    would save the workbook again, which alliance never does."""
    data = write_parts(tmp_path / "in.xlsx", sheet_xml(table_rows()))
    with zipfile.ZipFile(data) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b' r:id="rId1"', b"")
    with zipfile.ZipFile(data, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    done = alliance_process("batch", data.name, "-q", "wai-sr", "-o", "out.csv", cwd=tmp_path)
    assert done.returncode == 6
    assert done.stderr == "error: in.xlsx: the workbook has no sheet\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.xlsx"]


# -- an Excel output that cannot be written ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("rows", "limit"), [(2, 5_000), (2, 1_000), (3_000, 100_000)])
def test_an_excel_output_over_the_file_size_limit_leaves_the_target_intact(
    tmp_path: Path, rows: int, limit: int
) -> None:
    """``ulimit -f``: the file being written stops growing (EFBIG). Two rows fail in the
    zip archive being saved (today: "Exception ignored in ZipFile.__del__" after the
    error), two rows under 1,000 bytes and 3,000 rows in openpyxl's temporary sheet files."""
    data = tmp_path / "in.csv"
    with data.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["id", *ITEMS])
        out.writerows([f"p{k}", *ANSWERS[k % 2]] for k in range(rows))
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"the old file")
    result = alliance(
        "batch", "in.csv", "-q", "wai-sr", "-o", "out.xlsx", limit=limit, cwd=tmp_path
    )
    assert result.returncode == 6, result.stderr
    # The codebook is written before the scores land (and is the larger file), so at a
    # small limit it is what fails; either way the old output stays.
    assert re.search(
        r"error: out\.xlsx(\.codebook\.json)?: cannot write the file: File too large\n$",
        result.stderr,
    ), result.stderr
    assert "Exception ignored" not in result.stderr
    assert "Traceback" not in result.stderr
    assert target.read_bytes() == b"the old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.xlsx"]


@pytest.mark.slow
@pytest.mark.parametrize("limit", [5_000, 1_000])
def test_an_excel_save_that_fails_closes_its_archive(tmp_path: Path, limit: int) -> None:
    """The Excel sink itself under ``ulimit -f``: a save that fails half way closes its zip
    archive at once (before: "Exception ignored in ZipFile.__del__" once the temporary file
    was gone) and raises the one error naming the target; the target keeps its content."""
    script = (
        "import pandas as pd\n"
        "from pathlib import Path\n"
        "from alliance_cli.io.columns import Column\n"
        "from alliance_cli.io.sinks import open_sink\n"
        "from alliance_cli.errors import UserError\n"
        "cols = [Column('id', 'text', 'id'), Column('x', 'number', 'x')]\n"
        "sink = open_sink('xlsx', Path('out.xlsx'), cols)\n"
        "sink.write(pd.DataFrame({'id': ['a', 'b'], 'x': [1.5, 2.0]}))\n"
        "try:\n"
        "    sink.commit()\n"
        "except UserError as exc:\n"
        "    print('; '.join(p.render() for p in exc.problems))\n"
    )
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"the old file")

    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=tmp_path,
        preexec_fn=file_size_limit(limit),
    )
    assert result.stdout == "out.xlsx: cannot write the file: File too large\n", result.stderr
    assert result.stderr == ""  # no "Exception ignored"
    assert target.read_bytes() == b"the old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx"]
