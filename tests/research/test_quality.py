"""`alliance quality` and `alliance batch --quality` on tests/data/careless/screen.csv: every
index equals R careless's (tests/data/careless/reference.out), flagged rows are kept and
marked, --drop-flagged removes them and says how many, the speed flag from a duration
column, and the exit codes."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from pathlib import Path

import pytest

from tests.helpers import run
from tests.research import carelessref as ref


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / f"{ref.QID}.yaml").write_text(ref.DEFINITION, encoding="utf-8")
    (tmp_path / "map.yaml").write_text(ref.MAP, encoding="utf-8")
    return folder


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def numbers(out: list[dict[str, str]], column: str) -> list[float]:
    return [float(r[column]) if r[column] else math.nan for r in out]


def same(got: list[float], expected: tuple[float, ...], tol: float = 1e-12) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert (math.isnan(g) and math.isnan(e)) or g == pytest.approx(e, abs=tol), (got, expected)


def quality(defs: Path, *args: str, data: Path = ref.DATA / "screen.csv"):  # type: ignore[no-untyped-def]
    map_file = defs.parent / "map.yaml"
    return run("quality", str(data), "-q", ref.QID, "-d", str(defs), "--map", str(map_file), *args)


def test_indices_equal_r_careless(defs: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "indices.csv"
    result = quality(defs, "-o", str(out_file), "--id", "id")
    assert result.exit_code == 0, result.output
    out = rows(out_file.read_text(encoding="utf-8"))
    assert [r["id"] for r in out] == [f"p{i:02d}" for i in range(1, 41)]
    q = ref.QID
    # careless gives a blank row a longstring of 1 (a run of one NA); it is empty here.
    same(numbers(out, f"{q}.longstring"), (*ref.LONGSTRING[:-1], math.nan))
    assert ref.LONGSTRING[-1] == 1
    same(numbers(out, f"{q}.irv"), ref.IRV)
    same(numbers(out, f"{q}.mahad_d2"), ref.MAHAD, 1e-10)
    same(numbers(out, f"{q}.mahad_p"), ref.MAHAD_P, 1e-12)
    same(numbers(out, f"{q}.psychsyn"), ref.PSYCHSYN)
    same(numbers(out, f"{q}.psychant"), ref.PSYCHANT)
    # the scores are not in the indices file
    assert f"{q}.all" not in out[0]


def test_json_counts_each_flag(defs: Path) -> None:
    result = quality(defs, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["screened"] == 40
    flags = {f["flag"]: f for f in doc["flags"]}
    caught = lambda values, test: sum(1 for v in values if not math.isnan(v) and test(v))  # noqa: E731
    assert (
        flags["pscreen.longstring"]["caught"] == caught(ref.LONGSTRING[:-1], lambda v: v >= 8) == 1
    )
    assert flags["pscreen.irv"]["caught"] == caught(ref.IRV, lambda v: v <= 0) == 1
    assert flags["pscreen.mahad"]["caught"] == caught(ref.MAHAD_P, lambda v: v < 0.001) == 0
    # psychsyn/psychant: computed, but no flag without a cutoff (none is published)
    for check in ("psychsyn", "psychant"):
        f = flags[f"pscreen.{check}"]
        assert (f["caught"], f["percent"], f["threshold"]) == (None, None, None)
        assert f["no_flag_because"].startswith("no flag: no published cutoff")
        assert f["computed"] == sum(1 for v in getattr(ref, check.upper()) if not math.isnan(v))
    # the share of the responses whose index was computed (2 of 40 have no IRV)
    assert flags["pscreen.irv"]["computed"] == sum(1 for v in ref.IRV if not math.isnan(v)) == 38
    assert flags["pscreen.irv"]["percent"] == round(100 / 38, 2)
    assert flags["pscreen.irv"]["threshold"] == "IRV ≤ 0"
    assert flags["pscreen.irv"]["source"] == "Dunn et al. (2018)"
    pairs = doc["questionnaires"]["pscreen"]["synonym_pairs"]
    expected = [
        [f"i{a + 1}", f"i{b + 1}"] for a, b in zip(*[iter(ref.SYNONYM_PAIRS)] * 2, strict=True)
    ]
    assert pairs == expected
    assert "speed" not in flags


def test_thresholds_are_options(defs: Path) -> None:
    doc = json.loads(
        quality(defs, "--json", "--longstring-share", "0.5", "--mahad-alpha", ".01").stdout
    )
    flags = {f["flag"]: f for f in doc["flags"]}
    assert flags["pscreen.longstring"]["threshold"] == "≥ 4 of 8 items"
    cut = quality(defs, "--json", "--psychsyn-below", "0", "--psychant-above", "0").stdout
    cuts = {f["flag"]: f for f in json.loads(cut)["flags"]}
    assert cuts["pscreen.psychsyn"]["caught"] == sum(
        1 for v in ref.PSYCHSYN if not math.isnan(v) and v < 0
    )
    assert cuts["pscreen.psychant"]["caught"] == sum(
        1 for v in ref.PSYCHANT if not math.isnan(v) and v > 0
    )
    assert cuts["pscreen.psychsyn"]["threshold"] == "r < 0"
    assert flags["pscreen.longstring"]["caught"] == sum(1 for v in ref.LONGSTRING[:-1] if v >= 4)
    assert flags["pscreen.mahad"]["caught"] == sum(1 for v in ref.MAHAD_P if v < 0.01) == 1


def test_table_names_flag_threshold_source_and_count(defs: Path) -> None:
    result = quality(defs)
    assert result.exit_code == 0, result.output
    assert "pscreen.longstring" in result.stdout and "≥ 8 of 8 items" in result.stdout
    assert "Johnson (2005)" in result.stdout
    assert "no duration column" in result.stderr


def test_batch_keeps_and_marks_flagged_rows(defs: Path) -> None:
    map_file = defs.parent / "map.yaml"
    data = str(ref.DATA / "screen.csv")
    base = ("batch", data, "-q", ref.QID, "-d", str(defs), "--map", str(map_file), "--id", "id")
    result = run(*base, "--quality")
    assert result.exit_code == 0, result.output
    out = rows(result.stdout)
    assert len(out) == 40  # nothing removed
    straight = next(r for r in out if r["id"] == "p35")
    assert straight["pscreen.all"] == "3"  # the scores are there
    assert straight["pscreen.longstring_flag"] == "true" and straight["pscreen.irv_flag"] == "true"
    assert straight["quality_flags"].startswith("pscreen.longstring; pscreen.irv")
    assert straight["pscreen.psychsyn_flag"] == ""  # not computed: constant → empty
    blank = next(r for r in out if r["id"] == "p40")
    assert blank["quality_flags"] == "" and blank["pscreen.longstring"] == ""
    assert "quality: " in result.stderr and "pscreen.irv (IRV ≤ 0): 1 of 38 (2.6%)" in result.stderr
    syn = sum(1 for v in ref.PSYCHSYN if not math.isnan(v))
    assert f"pscreen.psychsyn: computed for {syn}; no flag: no published cutoff" in result.stderr
    flagged = sum(1 for r in out if r["quality_flags"])
    dropped = run(*base, "--quality", "--drop-flagged")
    assert dropped.exit_code == 0, dropped.output
    kept = rows(dropped.stdout)
    assert len(kept) == 40 - flagged and not any(r["quality_flags"] for r in kept)
    assert f"{flagged} removed (--drop-flagged)" in dropped.stderr


def test_batch_long_shape_repeats_the_indices_per_scale(defs: Path, tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text(
        "id,i1,i2,i3,i4,i5,i6,i7,i8\na,1,2,3,4,5,4,3,2\nb,3,3,3,3,3,3,3,3\n", encoding="utf-8"
    )
    map_file = defs.parent / "map.yaml"
    result = run(
        "batch",
        str(data),
        "-q",
        ref.QID,
        "-d",
        str(defs),
        "--map",
        str(map_file),
        "--quality",
        "--shape",
        "long",
    )
    assert result.exit_code == 0, result.output
    out = rows(result.stdout)
    assert [r["pscreen.longstring"] for r in out] == ["1", "8"]  # one scale: a row each
    # too few responses for the covariance matrix: said, not a traceback
    assert "pscreen.mahad: not computed, because" in result.stderr


def test_speed_from_the_duration_column(defs: Path, tmp_path: Path) -> None:
    data = tmp_path / "timed.csv"
    lines = [
        "id,secs,i1,i2,i3,i4,i5,i6,i7,i8",
        "a,40,1,2,3,4,5,4,3,2",
        "b,15.9,3,3,3,3,3,3,3,3",
        "c,,2,2,3,3,4,4,5,5",
    ]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out_file = tmp_path / "q.csv"
    result = quality(defs, "--duration-column", "secs", "--json", "-o", str(out_file), data=data)
    assert result.exit_code == 0, result.output
    flags = {f["flag"]: f for f in json.loads(result.stdout)["flags"]}
    # 40 / 8 = 5 s per item; 15.9 / 8 < 2 s; a blank duration: not computed
    assert flags["speed"]["caught"] == 1 and flags["speed"]["computed"] == 2
    assert flags["speed"]["threshold"] == "< 2 s per item"
    out = rows(out_file.read_text(encoding="utf-8"))
    assert [r["seconds_per_item"] for r in out] == ["5", "1.9875", ""]
    assert [r["speed_flag"] for r in out] == ["false", "true", ""]


def test_qualtrics_duration_is_taken_by_itself(defs: Path, tmp_path: Path) -> None:
    data = tmp_path / "timed.csv"
    data.write_text(
        "Duration (in seconds),i1,i2,i3,i4,i5,i6,i7,i8\n8,1,2,3,4,5,4,3,2\n", encoding="utf-8"
    )
    doc = json.loads(quality(defs, "--json", data=data).stdout)
    assert doc["duration_column"] == "Duration (in seconds)"
    assert {f["flag"]: f["caught"] for f in doc["flags"]}["speed"] == 1


def test_exit_codes(defs: Path) -> None:
    missing = quality(defs, "--duration-column", "nope")
    assert missing.exit_code == 2
    assert 'has no column named "nope"' in missing.stderr
    assert "--duration-column takes the name of the duration column" in missing.stderr
    assert quality(defs, "-o", "-").exit_code == 2
    map_file = defs.parent / "map.yaml"
    data = str(ref.DATA / "screen.csv")
    alone = run(
        "batch", data, "-q", ref.QID, "-d", str(defs), "--map", str(map_file), "--drop-flagged"
    )
    assert alone.exit_code == 2 and "--drop-flagged needs --quality" in alone.stderr


def test_cite_names_the_screening_methods_when_used() -> None:
    used = run("cite", "wai-sr", "--quality")
    assert used.exit_code == 0, used.output
    text = " ".join(used.stdout.split())
    assert "Careless responding was screened" in text
    for source in (
        "Johnson, 2005",
        "Dunn et al., 2018",
        "Meade & Craig, 2012",
        "Huang et al., 2012",
    ):
        assert source in text
    assert "flagged when p < 0.001" in text and "kept and marked" in text
    assert "Careless responding" not in run("cite", "wai-sr").stdout


def test_codebook_carries_the_counts_and_the_methods(defs: Path, tmp_path: Path) -> None:
    map_file = defs.parent / "map.yaml"
    out = tmp_path / "scores.csv"
    result = run(
        "batch",
        str(ref.DATA / "screen.csv"),
        "-q",
        ref.QID,
        "-d",
        str(defs),
        "--map",
        str(map_file),
        "--quality",
        "--drop-flagged",
        "--irv-max",
        "0.5",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    book = json.loads(out.with_name("scores.csv.codebook.json").read_text(encoding="utf-8"))
    flags = {f["flag"]: f for f in book["quality"]["flags"]}
    assert flags["pscreen.irv"]["caught"] == sum(1 for v in ref.IRV if v <= 0.5)
    assert book["quality"]["dropped"] == book["quality"]["flagged"] == 40 - book["rows"]
    assert "flagged at or below 0.5" in book["methods"]
    assert "removed from the output (--drop-flagged)" in book["methods"]
    names = [c["name"] for c in book["columns"]]
    assert names[-1] == "quality_flags" and "pscreen.mahad_p" in names


def test_chunk_size_changes_no_bit(defs: Path, tmp_path: Path) -> None:
    whole, chunked = tmp_path / "a.csv", tmp_path / "b.csv"
    assert quality(defs, "-o", str(whole)).exit_code == 0
    assert quality(defs, "-o", str(chunked), "--chunk-size", "10").exit_code == 0
    assert whole.read_bytes() == chunked.read_bytes()


def test_stdin_is_read_twice_through_a_copy(defs: Path) -> None:
    data = (ref.DATA / "screen.csv").read_text(encoding="utf-8")
    map_file = defs.parent / "map.yaml"
    result = run(
        "quality", "-", "-q", ref.QID, "-d", str(defs), "--map", str(map_file), "--json", stdin=data
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["screened"] == 40


def test_a_qualtrics_export_gives_its_duration_and_missing_code(tmp_path: Path) -> None:
    from tests.helpers import Q_IMPORT, Q_META, Q_TEXT

    items = [f"wai_sr_{i:02d}" for i in range(1, 13)]
    lines = [
        [*Q_META[:4], "Duration (in seconds)", *Q_META[4:], *items],
        [*Q_TEXT[:4], "Duration (in seconds)", *Q_TEXT[4:], *(f"{t} - text" for t in items)],
        [*Q_IMPORT[:4], '{"ImportId":"duration"}', *Q_IMPORT[4:]]
        + [f'{{"ImportId":"QID5_{i}"}}' for i in range(1, 13)],
    ]
    answers = [
        ("300", [5] * 12),
        ("12", [4, 5] * 6),
        ("200", [3, 4, 5, 4, 3, 4, 5, 4, 3, 4, -99, 4]),
    ]
    for r, (seconds, row) in enumerate(answers):
        meta = ["2024-03-01 10:00:00", "2024-03-01 10:09:00", "IP Address", "100", seconds, "1"]
        lines.append([*meta, f"R_{r:015d}", *map(str, row)])
    data = tmp_path / "export.csv"
    with data.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(lines)
    out = tmp_path / "q.csv"
    result = run("quality", str(data), "-q", "wai-sr", "-o", str(out))
    assert result.exit_code == 0, result.output
    got = rows(out.read_text(encoding="utf-8"))
    assert [r["ResponseId"] for r in got] == [f"R_{r:015d}" for r in range(3)]
    assert [r["seconds_per_item"] for r in got] == ["25", "1", "16.666666666666668"]
    assert [r["quality_flags"] for r in got] == ["wai-sr.longstring; wai-sr.irv", "speed", ""]
    # -99 is Qualtrics' missing code: 11 answers, the run broken at item 11
    assert got[2]["wai-sr.longstring"] == "1"
    assert float(got[2]["wai-sr.irv"]) == pytest.approx(
        statistics.stdev([3, 4, 5, 4, 3, 4, 5, 4, 3, 4, 4]), abs=1e-15
    )


def test_a_bad_cell_stops_the_screening_with_exit_65(defs: Path, tmp_path: Path) -> None:
    data = tmp_path / "bad.csv"
    data.write_text("id,i1,i2,i3,i4,i5,i6,i7,i8\na,1,2,3,4,5,4,3,9\n", encoding="utf-8")
    result = quality(defs, data=data)
    assert result.exit_code == 65
    assert "1 bad cell in 1 row" in result.stderr and "out of range" in result.stderr


def test_json_equals_the_library_result(defs: Path) -> None:
    import io as _io

    from alliance_cli.catalog import Catalog
    from alliance_cli.research.files import quality_of_files
    from alliance_cli.research.inputs import InputOptions
    from alliance_cli.research.quality.rules import QualityOptions

    result = quality_of_files(
        [str(ref.DATA / "screen.csv")],
        [ref.QID],
        Catalog(user_dirs=[defs]),
        InputOptions(map_file=defs.parent / "map.yaml"),
        QualityOptions(),
        stdin=lambda: _io.BytesIO(b""),
    )
    cli = json.loads(quality(defs, "--json").stdout)
    assert cli == json.loads(json.dumps(result.to_dict()))


def test_center_and_quality_together(defs: Path) -> None:
    map_file = defs.parent / "map.yaml"
    data = str(ref.DATA / "screen.csv")
    args = ("batch", data, "-q", ref.QID, "-d", str(defs), "--map", str(map_file))
    both = run(*args, "--center", "id", "--quality")
    assert both.exit_code == 0, both.output
    out = rows(both.stdout)
    assert "pscreen.all.person_mean" in out[0] and "quality_flags" in out[0]
    same(numbers(out, "pscreen.irv"), ref.IRV)
    centred = rows(run(*args, "--center", "id").stdout)
    assert [r["pscreen.all.within"] for r in out] == [r["pscreen.all.within"] for r in centred]


def test_no_response_kept_exits_1_and_writes_nothing_unless_allow_empty(
    defs: Path, tmp_path: Path
) -> None:
    header = (ref.DATA / "screen.csv").read_text(encoding="utf-8").splitlines()[0]
    empty = tmp_path / "empty.csv"
    empty.write_text(header + "\n", encoding="utf-8")
    out = tmp_path / "indices.csv"
    result = quality(defs, "-o", str(out), data=empty)
    assert result.exit_code == 1
    assert "no response was kept, so there is nothing to screen" in result.stderr
    assert not out.exists()
    result = quality(defs, "-o", str(out), "--allow-empty", "--json", data=empty)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["screened"] == 0
    assert out.read_text(encoding="utf-8").startswith("row,")
