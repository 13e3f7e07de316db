"""`alliance cite`: how to cite alliance and the questionnaires, BibTeX, the methods paragraph
(the same in a batch run's codebook), and CITATION.cff."""

from __future__ import annotations

import csv
import json
import re
import tomllib
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import alliance_cli
from alliance_cli.cli import app
from tests.helpers import REPO, TINY_YAML, answers, qualtrics

runner = CliRunner()
QDIR = REPO / "questionnaires"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = installed_version("alliance-cli")


def cite(*args: str):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["cite", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def definition(qid: str) -> dict:  # type: ignore[type-arg]
    """A bundled definition read as plain YAML (not through the model)."""
    return yaml.safe_load((QDIR / f"{qid}.yaml").read_text(encoding="utf-8"))


def one_line(text: str) -> str:
    return " ".join(text.split())


# -- BibTeX: a strict little reader, so that "valid" means something ----------------------


def parse_bibtex(text: str) -> dict[str, tuple[str, dict[str, str]]]:
    """``key → (type, fields)``; fails on anything a BibTeX reader would choke on: an entry
    that is not ``@type{key, name = {value}, ...}``, unbalanced braces, a repeated key or
    field, text between entries."""
    entries: dict[str, tuple[str, dict[str, str]]] = {}
    pos = 0
    head = re.compile(r"\s*@([a-z]+)\{([A-Za-z0-9_:.-]+),\s*")
    name = re.compile(r"([a-z]+)\s*=\s*\{")
    while text[pos:].strip():
        m = head.match(text, pos)
        assert m, f"not an entry at {text[pos : pos + 40]!r}"
        kind, key = m.groups()
        assert key not in entries, f"repeated key {key}"
        pos = m.end()
        fields: dict[str, str] = {}
        while True:
            f = name.match(text, pos)
            assert f, f"not a field at {text[pos : pos + 40]!r}"
            depth, i = 1, f.end()
            while depth:
                assert i < len(text), "unbalanced braces"
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                i += 1
            assert f.group(1) not in fields, f"repeated field {f.group(1)} in {key}"
            fields[f.group(1)] = text[f.end() : i - 1]
            rest = re.compile(r"\s*(,)?\s*(\})?").match(text, i)
            assert rest is not None
            pos = rest.end()
            if rest.group(2):
                break
            assert rest.group(1), f"no comma after field {f.group(1)} in {key}"
        entries[key] = (kind, fields)
    return entries


# -- alliance itself -----------------------------------------------------------------------


def test_cite_without_ids_cites_alliance_with_the_package_version_and_a_hint() -> None:
    result = cite()
    assert result.exit_code == 0
    assert result.stdout == (
        "How to cite alliance:\n"
        f"  alliance contributors (n.d.). alliance: local-first scoring of therapeutic "
        f"working-alliance questionnaires (Version {VERSION}) [Computer software]. MIT License.\n"
    )
    assert result.stderr == (
        "hint: name questionnaires (alliance cite wai-sr srs) or give --all for their "
        "citations and a methods paragraph\n"
    )


def test_citation_cff_parses_and_names_the_package_version_licence_and_authors() -> None:
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert str(cff["version"]) == VERSION == alliance_cli.__version__
    assert cff["license"] == PYPROJECT["project"]["license"]
    assert [a["name"] for a in cff["authors"]] == [
        a["name"] for a in PYPROJECT["project"]["authors"]
    ]
    assert cff["title"] and cff["message"]
    # Nothing invented: no DOI, and no repository the README does not name.
    assert "doi" not in cff and "identifiers" not in cff and "repository-code" not in cff
    result = cite("--json")
    software = json.loads(result.stdout)["alliance"]
    assert software["version"] == str(cff["version"])
    assert software["title"] == cff["title"]
    assert software["license"] == cff["license"]
    assert software["authors"] == [a["name"] for a in cff["authors"]]


# -- questionnaires ------------------------------------------------------------------------


@pytest.mark.parametrize("qid", ["wai-sr", "care", "wai"])
def test_cite_shows_each_citation_key_status_sources_and_licence(qid: str) -> None:
    raw = definition(qid)
    block = [
        f"{raw['id']} — {raw['title']}, definition version {raw['version']}",
        "  Cite:",
        *(
            "    " + one_line(c["text"]) + (f" https://doi.org/{c['doi']}" if c.get("doi") else "")
            for c in raw["citations"]
        ),
        f"  Scoring key: {raw['key_status']}",
        *(f"    {one_line(s)}" for s in raw["key_sources"]),
        f"  Licence: {one_line(raw['licence'])}",
    ]
    result = cite(qid)
    assert result.exit_code == 0
    assert "\n\n" + "\n".join(block) + "\n\nMethods:\n  " in result.stdout
    assert result.stderr == ""


def test_methods_name_keys_reverse_items_rules_codes_and_policy() -> None:
    # Expectations by hand from the scoring-facts file: WAI-S reverse items 4 and 10 as
    # 8 − x (1–7 scale); CARE sum of 10 items, up to 2 missing prorated, 6 = does not apply.
    result = cite(
        "wai-s", "care", "--missing", "-99", "--missing", "Refused", "--invalid", "missing"
    )
    assert result.exit_code == 0
    methods = result.stdout.split("\nMethods:\n  ", 1)[1]
    for fragment in [
        "wai-s (Working Alliance Inventory – Short Form (client); Tracey & Kokotovic (1989);",
        "Goal = mean of items 4, 6, 10, 11, reversed 4, 10 as 8 − x",
        "Task = mean of items 1, 2, 8, 12 (prorated when at least 3 of 4 are answered)",
        "Bond = mean of items 3, 5, 7, 9",
        "Its scoring key is partial:",
        "care (Consultation and Relational Empathy (CARE) measure; Mercer et al. (2004);",
        "Total = sum of items 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 (prorated when at least 8 of 10 "
        "are answered); no item was reversed. Its scoring key is verified:",
        'In care, the code 6 ("Does not apply") counted as unanswered',
        "A prorated score is the mean of the answered items",
        'Blank cells, "NA" and "." were missing ("NA" meant "does not apply" on items that '
        "offer that answer), and so were the codes -99, refused.",
        "were scored as missing (--invalid missing).",
    ]:
        assert fragment in methods, fragment
    # No item wording: the hints of the definitions are not part of the methods.
    assert "whole-person interest" not in result.stdout


def test_reliability_methods_are_one_table_with_their_r_equivalents() -> None:
    doc = json.loads(cite("wai-sr", "--json").stdout)
    table = doc["reliability_methods"]
    assert [m["r"] for m in table] == [
        "psych::alpha",
        "psych::alpha (std.alpha)",
        "psych::omega (one factor, minres)",
        "psych::alpha (r.drop, alpha.drop)",
        "psych::statsBy / psych::ICC",
        "psych::mlr",
        "lavaan two-level model",
    ]
    assert "ICC(1,1)" in table[4]["statistic"] and "ICC(1,k)" in table[4]["statistic"]
    assert table[6]["source"] == "Geldhof, Preacher & Zyphur (2014)"
    for m in table:
        assert f"{m['statistic']} ({m['source']}), from {m['how']}, as {m['r']}" in doc["methods"]


def test_json_is_the_library_document() -> None:
    from alliance_cli.catalog import Catalog
    from alliance_cli.research.citing import cite_document
    from alliance_cli.research.methods import RunOptions

    result = cite("srs", "ors", "--missing", "999", "--center", "--json")
    qs = [Catalog(user_dirs=[]).get(q) for q in ("srs", "ors")]
    options = RunOptions(missing={"srs": ("999",), "ors": ("999",)}, invalid="error", center=True)
    assert json.loads(result.stdout) == cite_document(qs, options)
    assert "the client's mean over their rows" in json.loads(result.stdout)["methods"]


def test_unknown_id_exits_3_naming_the_close_ids() -> None:
    result = cite("wai-xx")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        'error: no questionnaire "wai-xx" (known: care, haq-ii, ors, srs, wai, wai-s, wai-sr, '
        "wai-sr-t)\ndid you mean wai-s or wai-sr or wai? `alliance list` shows all "
        "questionnaires\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["wai-sr", "--all"], "give questionnaire ids or --all, not both"),
        (["wai-sr", "--json", "--format", "bibtex"], "--json and --format bibtex: choose one"),
    ],
)
def test_conflicting_options_are_usage_errors(args: list[str], message: str) -> None:
    result = cite(*args)
    assert result.exit_code == 2
    assert message in result.stderr


# -- BibTeX --------------------------------------------------------------------------------


def test_bibtex_is_valid_with_one_entry_per_citable_work() -> None:
    result = cite("--all", "--format", "bibtex")
    assert result.exit_code == 0
    entries = parse_bibtex(result.stdout)
    works = {
        (one_line(c["text"]), c.get("doi"))
        for path in sorted(QDIR.glob("*.yaml"))
        for c in yaml.safe_load(path.read_text(encoding="utf-8"))["citations"]
    }
    assert len(entries) == 1 + len(works)
    assert entries["alliance"][1]["version"] == VERSION
    dois = sorted(f["doi"] for _, f in entries.values() if "doi" in f)
    assert dois == sorted(d for _, d in works if d)
    # Hatcher & Gillaspy (2006), by hand from the scoring-facts file.
    kind, hatcher = next(e for e in entries.values() if e[1].get("doi") == dois[1])
    assert dois[1] == "10.1080/10503300500352500"
    assert kind == "article"
    assert hatcher == {
        "author": "Hatcher, R. L. and Gillaspy, J. A.",
        "year": "2006",
        "title": "Development and validation of a revised short version of the Working "
        "Alliance Inventory",
        "journal": "Psychotherapy Research",
        "volume": "16",
        "number": "1",
        "pages": "12--25",
        "doi": "10.1080/10503300500352500",
    }


def test_bibtex_keys_are_stable_across_selections() -> None:
    def key_of(doi: str, *ids: str) -> str:
        entries = parse_bibtex(cite(*ids, "--format", "bibtex").stdout)
        return next(k for k, (_, f) in entries.items() if f.get("doi") == doi)

    doi = "10.1080/10503300500352500"  # cited by both WAI-SR forms
    assert key_of(doi, "wai-sr") == key_of(doi, "wai-sr-t") == key_of(doi, "srs", "wai-sr-t")


def test_bibtex_of_odd_user_citations_stays_valid(tmp_path: Path) -> None:
    odd = [
        "No year here {unbalanced } } & 50% #1 $x_y",
        "Smith, J. (2020). A title only, no journal & no volume",
        "Ng & Ito (2019). Journal of Things, 7(1), 1-9. {",
        "et al. (2020). Nothing else.",
        "李, 小. (2021). 标题. 期刊, 3(1), 1–2.",
    ]
    citations = "citations:\n" + "".join(
        f"  - text: {json.dumps(text)}\n    doi: 10.1000/x_{n}}}\n" for n, text in enumerate(odd)
    )
    text = TINY_YAML.replace(
        "citations:\n  - text: Test fixture, not a real instrument.\n", citations
    )
    (tmp_path / "tiny.yaml").write_text(text, encoding="utf-8")
    result = cite("tiny", "-d", str(tmp_path), "--format", "bibtex")
    assert result.exit_code == 0, result.output
    entries = parse_bibtex(result.stdout)
    assert len(entries) == 6
    kinds = sorted(kind for kind, _ in entries.values())
    # Ng & Ito has no title: @misc with the journal in howpublished (an @article needs one).
    assert kinds == ["article", "misc", "misc", "misc", "misc", "misc"]
    assert all(re.fullmatch(r"[a-z][a-z0-9]*", key) for key in entries)
    notes = [f.get("note", "") for _, f in entries.values()]
    assert any("No year here" in n and r"\&" in n and r"\%" in n for n in notes)
    ng = next(f for _, f in entries.values() if f.get("author") == "Ng and Ito")
    assert (ng["year"], ng["howpublished"]) == ("2019", "Journal of Things, 7(1), 1--9")


# -- the same methods in a batch run's codebook ----------------------------------------------


def _plain(path: Path) -> Path:
    data = answers(6)
    data[1][3] = "-99"
    data[2][5] = "9"  # out of range: scored as missing with --invalid missing
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["client", *(f"wai{i}" for i in range(1, 13))])
        writer.writerows([f"c{r % 2}", *d] for r, d in enumerate(data))
    return path


@pytest.mark.parametrize(
    ("batch_args", "cite_args"),
    [
        (
            ["--missing", "-99", "--invalid", "missing"],
            ["--missing", "-99", "--invalid", "missing"],
        ),
        (
            ["--missing", "-99", "--center", "client", "--invalid", "missing"],
            ["--missing", "-99", "--center", "--invalid", "missing"],
        ),
    ],
)
def test_batch_codebook_methods_equal_cite_methods(
    tmp_path: Path, batch_args: list[str], cite_args: list[str]
) -> None:
    src = _plain(tmp_path / "data.csv")
    out = tmp_path / "scores.csv"
    result = runner.invoke(app, ["batch", str(src), "-q", "wai-sr", "-o", str(out), *batch_args])
    assert result.exit_code == 0, result.output
    book = json.loads(Path(f"{out}.codebook.json").read_text(encoding="utf-8"))
    cited = json.loads(cite("wai-sr", *cite_args, "--json").stdout)["methods"]
    # The run's methods are cite's, then what the run did with the rows it read.
    assert book["methods"] == cited + " All 6 rows read were scored."
    assert "the code -99" in cited


def test_qualtrics_minus_99_is_named_in_the_codebook_as_cite_names_it(tmp_path: Path) -> None:
    data = answers(3)
    data[0][2] = "-99"
    src = qualtrics(tmp_path / "q.csv", data, ["1", "1", "1"])
    out = tmp_path / "scores.csv"
    result = runner.invoke(app, ["batch", str(src), "-q", "wai-sr", "-o", str(out)])
    assert result.exit_code == 0, result.output
    book = json.loads(Path(f"{out}.codebook.json").read_text(encoding="utf-8"))
    plain = json.loads(cite("wai-sr", "--json").stdout)["methods"]
    assert book["methods"] != plain  # the survey's own code is part of the run
    cited = json.loads(cite("wai-sr", "--missing", "-99", "--json").stdout)["methods"]
    assert book["methods"] == cited + " All 3 rows read were scored."


def test_batch_codebook_names_map_file_codes_and_recodes_to_null(tmp_path: Path) -> None:
    src = _plain(tmp_path / "data.csv")
    columns = ", ".join(f"wai{i}: {i}" for i in range(1, 13) if i != 2)
    (tmp_path / "map.yaml").write_text(
        "questionnaires:\n  wai-sr:\n    missing: [88]\n"
        f'    columns: {{{columns}, wai2: {{item: 2, recode: {{"skip": null}}}}}}\n',
        encoding="utf-8",
    )
    out = tmp_path / "scores.csv"
    args = ["batch", str(src), "-q", "wai-sr", "--map", str(tmp_path / "map.yaml")]
    result = runner.invoke(
        app, [*args, "--invalid", "missing", "--chunk-size", "10", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    book = json.loads(Path(f"{out}.codebook.json").read_text(encoding="utf-8"))
    cited = cite("wai-sr", "--missing", "88", "--missing", "skip", "--invalid", "missing", "--json")
    assert book["methods"] == json.loads(cited.stdout)["methods"] + " All 6 rows read were scored."
    expected = 'Blank cells, "NA" and "." were missing, and so were the codes 88, skip.'
    assert expected in book["methods"]


def test_export_codebook_describes_its_questionnaires_without_a_run_policy(tmp_path: Path) -> None:
    db = str(tmp_path / "h.sqlite3")
    answers_ = "5,4,4,5,3,4,5,4,4,5,4,4"
    score_args = ["score", "wai-s", "--answers", answers_, "--client", "C-1", "--new-client"]
    assert runner.invoke(app, [*score_args, "--db", db]).exit_code == 0
    out = tmp_path / "export.csv"
    assert runner.invoke(app, ["export", "--all", "-o", str(out), "--db", db]).exit_code == 0
    book = json.loads(Path(f"{out}.codebook.json").read_text(encoding="utf-8"))
    cited = json.loads(cite("wai-s", "--json").stdout)["methods"]
    key = cited.split("wai-s (", 1)[1].split(" A reversed item counted", 1)[0]
    assert "wai-s (" + key in book["methods"]
    assert "reversed 4, 10 as 8 − x" in key
    assert "Blank cells" not in book["methods"] and "stopped the run" not in book["methods"]


def test_key_status_of_every_bundled_questionnaire_is_the_scoring_facts_tag() -> None:
    # By hand from the scoring-facts file's section tags: [V] verified, [P] partial,
    # [U] unverified.
    facts = {
        "wai-sr": "verified",
        "wai-sr-t": "partial",
        "wai-s": "partial",
        "wai": "unverified",
        "srs": "verified",
        "ors": "verified",
        "care": "verified",
        "haq-ii": "partial",
    }
    doc = json.loads(cite("--all", "--json").stdout)
    assert {q["id"]: q["key_status"] for q in doc["questionnaires"]} == facts
    for q in doc["questionnaires"]:
        assert f"Its scoring key is {facts[q['id']]}: " in doc["methods"]


def test_a_blank_missing_code_is_not_named() -> None:
    methods = json.loads(cite("srs", "--missing", "", "--missing", " ", "--json").stdout)["methods"]
    assert 'Blank cells, "NA" and "." were missing; no other code was read as missing.' in methods


def test_methods_carry_a_verified_keys_primary_source_and_every_note_of_another() -> None:
    """A methods paragraph is for a journal: a verified key is cited by its primary source,
    not by the notes meant for whoever edits the definition; a partial key keeps every note
    (they say what is not verified)."""
    srs = json.loads(cite("srs", "--json").stdout)["methods"]
    assert "Its scoring key is verified: Duncan et al. (2003), primary source:" in srs
    assert "your own copy" not in srs and "any item below 9" not in srs
    wais = json.loads(cite("wai-s", "--json").stdout)["methods"]
    notes = yaml.safe_load(
        (Path(__file__).parents[2] / "questionnaires" / "wai-s.yaml").read_text("utf-8")
    )["key_sources"]
    assert len(notes) > 1
    for note in notes:
        assert " ".join(note.split())[:60] in wais


def test_the_codebook_methods_say_which_rows_were_left_out(tmp_path: Path) -> None:
    """A methods paragraph pasted into a paper must carry the exclusions (issue 10 §1, §5)."""
    src = qualtrics(tmp_path / "q.csv", answers(5), ["1", "0", "1", "False", "1"])
    out = tmp_path / "scores.csv"
    args = ["batch", str(src), "-q", "wai-sr", "--finished-only", "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    book = json.loads(Path(f"{out}.codebook.json").read_text(encoding="utf-8"))
    cited = json.loads(cite("wai-sr", "--missing", "-99", "--json").stdout)["methods"]
    assert book["methods"] == (
        f"{cited} Of the 5 rows read, 2 were left out as not finished (--finished-only); 3 were "
        "scored."
    )


def test_an_article_entry_always_has_a_title() -> None:
    """BibTeX requires a title for @article: a citation without one (Duncan et al. 2003 as the
    definition records it) becomes @misc with the journal in howpublished, nothing invented."""
    bib = cite("--all", "--format", "bibtex").stdout
    entries = re.findall(r"@(\w+)\{([^,]+),\n(.*?)\n\}", bib, re.S)
    assert len(entries) > 5
    for kind, key, body in entries:
        if kind == "article":
            assert re.search(r"^  title = \{.+\}", body, re.M), key
    srs = next(body for kind, key, body in entries if key.startswith("duncan2003"))
    assert "howpublished = {Journal of Brief Therapy, 3(1), 3--12}" in srs
