"""`alliance batch --center` streams in two passes: memory stays flat as rows grow, the output
is exactly what scoring the whole table at once gives (every chunk size, shape and format),
stdin is read once into a private copy that never outlives the run, and a bad cell refuses
before anything is written."""

from __future__ import annotations

import io
import os
import stat
import tempfile
import tracemalloc
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.cli import app
from alliance_cli.errors import BatchDataError, InputFileError
from alliance_cli.io import atomic
from alliance_cli.io.sinks import Sink, open_sink
from alliance_cli.options import InvalidPolicy, Shape
from alliance_cli.research.batch import BatchOptions
from alliance_cli.research.centring import PersonMeans
from alliance_cli.research.readers import DEFAULT_CHUNK_ROWS, Opened, open_input, read_table
from alliance_cli.research.run import InMemory, run_batch

runner = CliRunner()
CATALOG = Catalog(user_dirs=[])
QS = [CATALOG.get("wai-sr"), CATALOG.get("srs")]
HEADER = ["client", "session", *(f"wai_sr_{i}" for i in range(1, 13)), "srs_1", "srs_2"]
HEADER += ["srs_3", "srs_4"]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("ALLIANCE_DEFINITIONS", raising=False)


def sessions_csv(path: Path, n: int, clients: int, seed: int, *, bad: bool = False) -> Path:
    """Sessions of ``clients`` clients: blank clients, blank and prorated answers, withheld
    scores (all blank), and with ``bad`` a few out-of-range answers."""
    rng = np.random.default_rng(seed)
    lines = [",".join(HEADER)]
    for r in range(n):
        client = "" if rng.random() < 0.05 else f"c{rng.integers(0, clients):03d}"
        blank = rng.random() < 0.05
        answers = [
            "" if blank or rng.random() < 0.15 else str(rng.integers(1, 6)) for _ in range(12)
        ]
        if bad and rng.random() < 0.05:
            answers[3] = "9"
        srs = ["" if rng.random() < 0.1 else f"{rng.uniform(0, 10):.1f}" for _ in range(4)]
        lines.append(",".join([client, str(r), *answers, *srs]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def streamed(
    files: Sequence[Path], options: BatchOptions, fmt: str, chunk: int, tmp: Path
) -> bytes:
    """The output of a two-pass streamed run, as the CLI makes it."""
    out = tmp / f"streamed-{chunk}.{fmt}"

    def open_all() -> list[Opened]:
        return [open_input(f, chunk_rows=chunk) for f in files]

    run_batch(
        open_all(),
        QS,
        options,
        output=lambda columns: open_sink(fmt, out, columns),
        reopen=open_all,
    )
    return out.read_bytes()


def whole(files: Sequence[Path], options: BatchOptions, fmt: str, tmp: Path) -> bytes:
    """The output of the whole tables scored in memory, written in one piece."""
    kept = InMemory()
    run_batch([read_table(f) for f in files], QS, options, output=kept)
    out = tmp / f"whole.{fmt}"
    sink = open_sink(fmt, out, kept.columns)
    sink.write(kept.table)
    sink.commit()
    return out.read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["wide", "long"])
def test_streamed_centring_writes_what_the_whole_table_gives(tmp_path: Path, shape: str) -> None:
    files = [
        sessions_csv(tmp_path / "a.csv", 40, 6, 1),
        sessions_csv(tmp_path / "b.csv", 25, 9, 2),  # clients shared with a.csv
    ]
    options = BatchOptions(center="client", shape=Shape(shape))
    for inputs in (files[:1], files):
        expected = whole(inputs, options, "csv", tmp_path)
        assert b"person_mean" in expected
        for chunk in (1, 3, DEFAULT_CHUNK_ROWS):
            assert streamed(inputs, options, "csv", chunk, tmp_path) == expected, chunk


def same_content(fmt: str, a: Path, b: Path) -> bool:
    """The same file but for what differs between any two writes: a creation time (xlsx,
    sav), and Parquet row groups (a row group per chunk written, as in a plain batch)."""
    if fmt == "xlsx":
        x, y = zipfile.ZipFile(a), zipfile.ZipFile(b)
        names = [n for n in x.namelist() if n != "docProps/core.xml"]
        return names == [n for n in y.namelist() if n != "docProps/core.xml"] and all(
            x.read(n) == y.read(n) for n in names
        )
    if fmt == "sav":
        (x, mx), (y, my) = pyreadstat.read_sav(a), pyreadstat.read_sav(b)
        keep = ("column_names_to_labels", "variable_value_labels", "original_variable_types")
        return x.equals(y) and all(getattr(mx, k) == getattr(my, k) for k in keep)
    if fmt == "parquet":
        x, y = pq.read_table(a), pq.read_table(b)
        return x.equals(y) and x.schema.equals(y.schema, check_metadata=True)
    return a.read_bytes() == b.read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["tsv", "xlsx", "parquet", "sav"])
def test_streamed_centring_in_other_formats(tmp_path: Path, fmt: str) -> None:
    data = sessions_csv(tmp_path / "a.csv", 50, 5, 3, bad=True)
    options = BatchOptions(center="client", invalid=InvalidPolicy.missing)
    whole([data], options, fmt, tmp_path)
    streamed([data], options, fmt, 7, tmp_path)
    assert same_content(fmt, tmp_path / f"whole.{fmt}", tmp_path / f"streamed-7.{fmt}")
    plain = tmp_path / "plain"
    plain.mkdir()
    whole([data], BatchOptions(invalid=InvalidPolicy.missing), fmt, plain)
    assert not same_content(fmt, tmp_path / f"whole.{fmt}", plain / f"whole.{fmt}")


def pandas_means(clients: np.ndarray, values: np.ndarray) -> np.ndarray:
    """What the whole-table run computed before streaming: pandas' grouped mean of each
    column."""
    return np.column_stack(
        [
            pd.Series(values[:, j])
            .groupby(pd.Series(clients, dtype=object), dropna=True)
            .transform("mean")
            .to_numpy(dtype=np.float64, na_value=np.nan)
            for j in range(values.shape[1])
        ]
    )


@pytest.mark.slow
@pytest.mark.parametrize("order", ["shuffled", "sorted", "sorted-blank-first", "blank-late"])
def test_person_means_are_pandas_grouped_means_bit_for_bit_whatever_the_chunks(
    order: str,
) -> None:
    """Many rows per client (one client with hundreds), scores in thirds, sevenths and
    elevenths rounded to 10 decimals; one column with withheld scores, one without. pandas
    sums a column sorted by client without withheld scores pairwise (numpy.add.reduceat),
    any other with Kahan compensation: either way the means carried over chunks are the
    same bits; plain sums of chunk sums are not."""
    rng = np.random.default_rng(7)
    n = 6_000
    clients = np.array([f"k{c:02d}" for c in rng.integers(0, 40, n)], dtype=object)
    clients[rng.random(n) < 0.3] = "k99"
    blank = rng.random(n) < 0.02
    if order != "shuffled":
        clients = np.sort(clients)
    if order == "sorted-blank-first":
        blank = np.arange(n) < 25
    if order != "sorted":
        clients[blank] = None
    values = np.round(rng.integers(1, 60, (n, 2)) / rng.choice([3, 7, 11, 12], (n, 2)), 10)
    values[rng.random(n) < 0.1, 1] = np.nan
    expected = pandas_means(clients, values)
    for chunk in (1, 3, 977, n):
        means = PersonMeans(2)
        for at in range(0, n, chunk):
            means.add(clients[at : at + chunk], values[at : at + chunk])
        assert np.array_equal(means.means(clients), expected, equal_nan=True), chunk
    named = clients != None  # noqa: E711
    sums: dict[str, np.ndarray] = {}
    for at in range(0, n, 977):  # what summing the chunks' sums would give
        piece = pd.DataFrame(values[at : at + 977]).groupby(
            pd.Series(clients[at : at + 977], dtype=object)
        )
        for key, total in piece.sum().iterrows():
            sums[key] = sums.get(key, 0) + total.to_numpy()
    counts = pd.DataFrame(~np.isnan(values)).groupby(pd.Series(clients, dtype=object)).sum()
    naive = np.array([sums[c] / counts.loc[c].to_numpy() for c in clients[named]])
    assert not np.array_equal(naive, expected[named], equal_nan=True)  # the test can tell


def test_long_person_means_with_several_scales_are_pandas_means_of_the_long_column() -> None:
    """The long shape groups one column by client, questionnaire and scale: with several
    scales it is never sorted that way, so pandas compensates even for sorted clients."""
    rng = np.random.default_rng(8)
    n = 3_000
    clients = np.sort(np.array([f"k{c}" for c in rng.integers(0, 5, n)], dtype=object))
    values = np.round(rng.integers(1, 60, (n, 3)) / rng.choice([3, 7, 12], (n, 3)), 10)
    scales = np.tile(np.array(["goal", "task", "bond"], dtype=object), n)
    long = pd.Series(values.reshape(-1))
    keys = [pd.Series(np.repeat(clients, 3), dtype=object), pd.Series(scales)]
    expected = long.groupby(keys).transform("mean").to_numpy().reshape(n, 3)
    means = PersonMeans(3, by_scale=False)
    for at in range(0, n, 100):
        means.add(clients[at : at + 100], values[at : at + 100])
    assert np.array_equal(means.means(clients), expected)
    assert not np.array_equal(pandas_means(clients, values), expected)


@pytest.mark.slow
def test_centring_does_not_hold_every_row(tmp_path: Path) -> None:
    """200,000 rows in chunks of 5,000: the run's peak Python-side allocation stays near
    that of a plain run (about 27 MB: a few chunks), far below the 220 MB that holding
    every scored row took."""
    data = sessions_csv(tmp_path / "big.csv", 2_000, 250, 4)
    body = data.read_text(encoding="utf-8").splitlines()[1:]
    with data.open("a", encoding="utf-8") as f:
        for _ in range(99):
            f.write("\n".join(body) + "\n")

    def peak(options: BatchOptions) -> int:
        def open_all() -> list[Opened]:
            return [open_input(data, chunk_rows=5_000)]

        tracemalloc.start()
        try:
            run_batch(
                open_all(),
                QS,
                options,
                output=lambda columns: open_sink("csv", tmp_path / "out.csv", columns),
                reopen=open_all,
            )
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    plain = peak(BatchOptions())
    centred = peak(BatchOptions(center="client"))
    assert centred < 1.5 * plain + 5_000_000 and centred < 40_000_000, (plain, centred)


class Recording:
    """Output sinks that record being opened and written."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.opened = tmp, 0
        self.writes: list[int] = []

    def __call__(self, columns: Sequence[object]) -> Sink:
        self.opened += 1
        sink = open_sink("csv", self.tmp / "out.csv", columns)  # type: ignore[arg-type]
        write = sink.write

        def counted(table: object) -> None:
            self.writes.append(len(table))  # type: ignore[arg-type]
            write(table)

        sink.write = counted  # type: ignore[method-assign]
        return sink


def test_each_chunk_is_written_as_it_is_scored_again(tmp_path: Path) -> None:
    data = sessions_csv(tmp_path / "a.csv", 95, 7, 5)
    record = Recording(tmp_path)
    opens: list[int] = []

    def open_all() -> list[Opened]:
        opens.append(1)
        return [open_input(data, chunk_rows=10)]

    batch = run_batch(open_all(), QS, BatchOptions(center="client"), output=record, reopen=open_all)
    assert len(opens) == 2 and record.opened == 1
    assert record.writes == [10] * 9 + [5] and batch.written == 95


def test_a_bad_cell_refuses_before_the_output_is_opened(tmp_path: Path) -> None:
    data = sessions_csv(tmp_path / "a.csv", 60, 4, 6)
    lines = data.read_text(encoding="utf-8").splitlines()
    lines[-1] = lines[-1].replace(",3,", ",7,", 1) if ",3," in lines[-1] else lines[-1] + "x"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    record = Recording(tmp_path)
    opens: list[int] = []

    def open_all() -> list[Opened]:
        opens.append(1)
        return [open_input(data, chunk_rows=10)]

    with pytest.raises(BatchDataError):
        run_batch(open_all(), QS, BatchOptions(center="client"), output=record, reopen=open_all)
    assert record.opened == 0 and len(opens) == 1 and not (tmp_path / "out.csv").exists()


def test_an_input_that_changes_between_the_passes_writes_nothing(tmp_path: Path) -> None:
    data = sessions_csv(tmp_path / "a.csv", 30, 4, 8)
    grown = sessions_csv(tmp_path / "b.csv", 31, 4, 8)
    calls: list[Path] = [data, grown]

    def open_all() -> list[Opened]:
        return [open_input(calls.pop(0), name="a.csv", chunk_rows=10)]

    out = tmp_path / "out.csv"
    with pytest.raises(InputFileError) as caught:
        run_batch(
            open_all(),
            QS,
            BatchOptions(center="client"),
            output=lambda columns: open_sink("csv", out, columns),
            reopen=open_all,
        )
    problem = caught.value.problems[0]
    assert (problem.location, problem.message) == (
        "a.csv",
        "changed while it was read (--center reads the input twice: once for the "
        "person means, once to write); nothing was written",
    )
    assert not out.exists()
    with pytest.raises(ValueError, match="needs reopen"):
        run_batch([open_input(data)], QS, BatchOptions(center="client"), output=Recording(tmp_path))


def private_copies(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".stdin.")]


@pytest.mark.slow
def test_stdin_is_centred_from_a_private_copy_removed_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    data = sessions_csv(tmp_path / "a.csv", 70, 5, 9)
    args = ["batch", "-q", "wai-sr", "-q", "srs", "--center", "client", "--chunk-size", "10"]
    from_file = runner.invoke(app, [*args[:1], str(data), *args[1:]])
    from_stdin = runner.invoke(app, [*args[:1], "-", *args[1:]], input=data.read_bytes())
    assert from_file.exit_code == from_stdin.exit_code == 0, from_stdin.output
    assert from_stdin.stdout == from_file.stdout and "person_mean" in from_stdin.stdout
    assert "read 70 rows from stdin" in from_stdin.stderr
    assert private_copies(temp) == []
    bad = sessions_csv(tmp_path / "bad.csv", 70, 5, 9, bad=True).read_bytes()
    refused = runner.invoke(app, [*args[:1], "-", *args[1:]], input=bad)
    assert refused.exit_code == 65 and refused.stdout == ""
    assert "bad cells in 3 rows" in refused.stderr
    assert private_copies(temp) == []


def test_the_private_copy_is_0600_and_goes_on_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen: list[Path] = []
    with pytest.raises(RuntimeError), atomic.spooled(io.BytesIO(b"a,b\n1,2\n")) as copy:
        seen.append(copy)
        assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
        assert copy.read_bytes() == b"a,b\n1,2\n" and copy.parent == tmp_path
        raise RuntimeError("stop")
    assert not seen[0].exists() and private_copies(tmp_path) == []


def test_help_and_readme_say_centring_reads_twice_and_sav_holds_scores() -> None:
    result = runner.invoke(app, ["batch", "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.stdout.split())
    assert "reads the input twice" in text and "SPSS (.sav) output holds" in text
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "`--center` reads its inputs twice" in " ".join(readme.split())


@pytest.mark.slow
def test_dask_centres_as_the_local_engine_and_bad_cells_are_written_once(tmp_path: Path) -> None:
    """Both passes run on Dask workers (a local cluster for each); the person means are
    summed here, in row order. The bad cells (found by the first pass only) are written
    once, as by a plain run."""
    data = sessions_csv(tmp_path / "a.csv", 60, 5, 10, bad=True)
    common = ["batch", str(data), "-q", "wai-sr", "--invalid", "missing", "--chunk-size", "10"]
    written: dict[str, tuple[str, bytes]] = {}
    for name, extra in {
        "local": ["--center", "client"],
        "dask": ["--center", "client", "--engine", "dask"],
        "plain": [],
    }.items():
        errors = tmp_path / f"{name}.errors.csv"
        result = runner.invoke(app, [*common, *extra, "--errors", str(errors)])
        assert result.exit_code == 0, result.output
        written[name] = (result.stdout, errors.read_bytes())
    assert written["dask"] == written["local"] and "person_mean" in written["local"][0]
    assert written["local"][1] == written["plain"][1] and written["plain"][1].count(b"\n") > 2


@pytest.mark.slow
def test_a_file_sorted_by_client_gets_pandas_means_to_the_last_decimal(tmp_path: Path) -> None:
    """Sorted by client, nothing withheld: means whose exact value ends in 5 at the 11th
    decimal (a client with an even number of sessions) are printed as pandas' mean of the
    written scores rounds them, through every chunk size."""
    rng = np.random.default_rng(12)
    lines = [",".join(HEADER[:14])]
    for c in range(300):
        for s in range(int(rng.integers(1, 30))):
            answers = [str(a) for a in rng.integers(1, 6, 12)]
            answers[int(rng.integers(0, 12))] = "" if rng.random() < 0.5 else answers[0]
            lines.append(",".join([f"c{c:03d}", str(s), *answers]))
    data = tmp_path / "sorted.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for chunk in ("10", "100000"):
        result = runner.invoke(
            app, ["batch", str(data), "-q", "wai-sr", "--center", "client", "--chunk-size", chunk]
        )
        assert result.exit_code == 0, result.output
        out = pd.read_csv(io.StringIO(result.stdout), dtype=str)
        for scale in ("goal", "task", "bond", "goal_task", "total"):
            stem = f"wai-sr.{scale}"
            score = out[stem].astype(float)
            mean = score.groupby(out["client"]).transform("mean")
            rounded = [round(x, 10) for x in mean.tolist()]  # as a score is rounded
            assert out[f"{stem}.person_mean"].astype(float).tolist() == rounded
            within = [round(x, 10) for x in (score - mean).tolist()]
            assert out[f"{stem}.within"].astype(float).tolist() == within
