"""Fuzzing definitions (issue 11, "Fuzzing stays in the suite").

1. Mutations of the bundled files and the tiny fixture: a value anywhere in the tree replaced
   by one of another type (up to 1,000 levels deep, a huge string), a key deleted, added or
   misspelt; and text-level edits (bytes, tabs, duplicate keys, anchors and aliases, ``<<``
   merge keys, YAML 1.1 traps, bad UTF-8, a byte-order mark, a cut, not one mapping).
   ``validate`` reports problems with file:line:col; the file in a ``-d`` folder never breaks
   ``list`` or the scoring of another questionnaire.
2. Definitions generated from the README's format: when ``validate`` accepts one, ``score``
   agrees with the independent reference scorer on every scale; when it refuses one, every
   problem names its place and a path of the file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import strategies as st

from tests.fuzz import reference
from tests.fuzz.fuzzkit import Budget, budgets, check, invoke, snapshot
from tests.helpers import TINY_YAML, definition_head

BUNDLED = Path(__file__).resolve().parents[2] / "questionnaires"
SOURCES = {p.name: p.read_text(encoding="utf-8") for p in sorted(BUNDLED.glob("*.yaml"))}
SOURCES["tiny.yaml"] = TINY_YAML
SRS_FIVES = 20.0  # srs: four visual-analogue items of 5 -> total 5 * 4
DEEP = "__deep_placeholder__"


def norm_id(name: str) -> str:
    """The README's id matching: case-insensitive, ignoring ``-``, ``_``, ``.``."""
    return re.sub(r"[\s_.\-]", "", name.casefold())


# --- 1. mutations ------------------------------------------------------------------------


def paths_of(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into the parsed tree (keys and list indexes)."""
    out = [here] if here else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += paths_of(value, (*here, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += paths_of(value, (*here, i))
    return out


def deep(kind: str, depth: int) -> str:
    """Flow YAML nested ``depth`` levels (PyYAML's dumper would recurse too deep itself)."""
    return "[" * depth + "1" + "]" * depth if kind == "list" else "{a: " * depth + "1" + "}" * depth


replacements = st.one_of(
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([10**400, -(10**400), 5e-324, 1e-320, 1.7e308, -1.7e308]),  # past a float
    st.booleans(),
    st.none(),
    st.text(max_size=30),
    st.just([]),
    st.builds(lambda n: list(range(n)), st.integers(1, 5_000)),
    st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=4),
    st.tuples(st.sampled_from(["list", "map"]), st.integers(1, 1_000)),  # deep nesting
    st.builds(lambda n: "x" * n, st.sampled_from([100_000, 1_100_000])),  # huge string
)

TRAPS = ["no", "on", "off", "yes", "010", "0x1F", "1_000", ".inf", "~", "2024-01-01", "1e3", "="]


@st.composite
def tree_mutation(draw: Any, text: str) -> str:
    """One to three path x type mutations of the parsed tree, written back with
    ``yaml.safe_dump``."""
    data = yaml.safe_load(text)
    deep_text = None
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths_of(data)))
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "misspell"]))
        if op == "replace":
            value = draw(replacements)
            if isinstance(value, tuple):
                deep_text, value = deep(*value), DEEP
            parent[last] = value
        elif isinstance(parent, dict) and op == "delete":
            del parent[last]
        elif isinstance(parent, dict) and op == "misspell":
            parent[str(last)[:-1] + "z" if str(last) else "z"] = parent.pop(last)
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "note", "lables", "reverse_items", "7"]))] = 1
        else:
            parent.append(parent[last])
    out = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)
    return out.replace(DEEP, deep_text) if deep_text else out


TEXT_OPS = ["bytes", "tab", "duplicate", "alias", "laughs", "merge", "trap", "utf8", "bom"]
TEXT_OPS += ["truncate", "document"]


@st.composite
def text_mutation(draw: Any, text: str) -> bytes:
    """Byte edits, tabs, duplicate keys, anchors, aliases, merge keys, YAML 1.1 traps, bad
    UTF-8, a byte-order mark."""
    lines = text.splitlines(keepends=True)
    keyed = [i for i, line in enumerate(lines) if re.match(r"^\s*-?\s*[\w\"-]+:", line)]
    i = draw(st.sampled_from(keyed))
    line = lines[i]
    op = draw(st.sampled_from(TEXT_OPS))
    if op == "tab":
        lines[i] = re.sub(r"^( +)", lambda m: "\t" * draw(st.integers(1, 2)), line)
    elif op == "duplicate":
        lines.insert(i + 1, line)
    elif op == "alias":
        lines[i] = re.sub(r":\s.*", ": *anc", line, count=1)
        lines.insert(0, draw(st.sampled_from(["anc_x: &anc {min: 1}\n", "x: &anc 3\n"])))
    elif op == "laughs":
        depth = draw(st.integers(1, 9))
        chain = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"]
        chain += [f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * 10)}]\n" for k in range(1, depth)]
        lines[:0] = chain
    elif op == "merge":
        indent = re.match(r"^(\s*-?\s*)", line).group(1).replace("-", " ")  # type: ignore[union-attr]
        merged = draw(st.sampled_from(["<<: {min: 3}", "<<: [{a: 1}, {b: 2}]", "<<: 5"]))
        lines.insert(i + 1, indent + merged + "\n")
    elif op == "trap":
        lines[i] = re.sub(r":\s.*", ": " + draw(st.sampled_from(TRAPS)), line, count=1)
    data = "".join(lines).encode("utf-8")
    if op == "bytes":
        for _ in range(draw(st.integers(1, 5))):
            at = draw(st.integers(0, len(data)))
            cut = draw(st.integers(0, 3))
            data = data[:at] + draw(st.binary(max_size=3)) + data[at + cut :]
    elif op == "utf8":
        at = draw(st.integers(0, len(data)))
        data = (
            data[:at]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]))
            + data[at:]
        )
    elif op == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif op == "document":  # not one mapping: a list, a scalar, nothing, two documents
        data = draw(st.sampled_from([b"[]", b"5", b"", b"~", b"- a\n", b"---\n"])) + (
            b"\n---\n" + data if draw(st.booleans()) else b""
        )
    elif op == "bom":
        data = (
            draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xef\xbb\xbf\xef\xbb\xbf"]))
            + data
        )
    return data


@st.composite
def mutated_file(draw: Any) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SOURCES)))
    text = SOURCES[name]
    if draw(st.booleans()):
        return name, draw(tree_mutation(text)).encode("utf-8")
    return name, draw(text_mutation(text))


def declares_srs(data: bytes) -> bool | None:
    """Whether the file declares the id ``srs`` (None: PyYAML cannot read it)."""
    try:
        parsed = yaml.safe_load(data)
    except (yaml.YAMLError, ValueError, RecursionError):
        return None
    declared = parsed.get("id") if isinstance(parsed, dict) else None
    return isinstance(declared, str | int) and norm_id(str(declared)) == "srs"


def validate(entry: str, path: Path, folder: Path) -> int:
    """``alliance validate FILE``: exit 0, or exit 1 with every problem located."""
    args = ["validate", str(path)]
    before = snapshot(folder)
    outcome = invoke(entry, args, cwd=folder)
    # Exit 1 lists the problems on stdout by design (README: validate prints every problem).
    check(
        outcome,
        args=args,
        folder=folder,
        before=before,
        allowed=frozenset({0, 1}),
        quiet_stdout=outcome.code == 0,
    )
    if outcome.code == 1:
        shown = f"{args}:\n{outcome.stdout}"
        *problems, summary = outcome.stdout.strip().splitlines()
        assert problems and re.fullmatch(r"\d+ problems? in 1 of 1 file", summary), shown
        for line in problems:  # a whole-document problem (size, expansion) has no line
            assert re.match(re.escape(str(path)) + r"(:\d+:\d+)?[: ]", line), shown
    return outcome.code


@pytest.mark.slow
@budgets(bounded=30, long=700)
def test_mutated_definitions(tmp_path_factory: Any, budget: Budget) -> None:
    @budget.given(mutated_file())
    def case(mutation: tuple[str, bytes]) -> None:
        name, data = mutation
        top = tmp_path_factory.mktemp("mut")
        folder = top / "defs"
        folder.mkdir()
        path = folder / name
        path.write_bytes(data)
        before = snapshot(top)
        valid = validate("definitions", path, top) == 0

        args = ["list", "-d", str(folder), "--json"]
        listed = invoke("definitions", args)
        check(listed, args=args, folder=top, before=before, allowed=frozenset({0}))
        ids = {row["id"] for row in json.loads(listed.stdout)}
        assert {Path(n).stem for n in SOURCES} - {"tiny"} <= ids, (args, ids)

        args = ["score", "srs", "--answers", "5 5 5 5", "-d", str(folder), "--json"]
        scored = invoke("definitions", args)
        declared = declares_srs(data)
        # An invalid file takes the id of its name and the one it declares (README: asking
        # for it is an error listing its problems); a valid one takes the id it declares.
        if valid:
            allowed = {0, 4} if declared else {0}
        elif declared or norm_id(Path(name).stem) == "srs":
            allowed = {5, 6}  # 6: a file that cannot be read (not UTF-8, too large): Limits
        elif declared is None and b"srs" in data.lower():
            allowed = {0, 5, 6}  # an id PyYAML cannot read may still be srs to the loader
        else:
            allowed = {0}
        check(scored, args=args, folder=top, before=before, allowed=frozenset(allowed))
        if scored.code == 0:
            totals = [s["score"] for s in json.loads(scored.stdout)["scales"]]
            if valid and declared:
                defn = yaml.safe_load(data)
                expect = reference.scale_scores(defn, dict.fromkeys(reference.item_ids(defn), 5.0))
                assert totals == [expect[s] for s in defn["scales"]], (args, totals, expect)
            else:
                assert totals == [SRS_FIVES], (args, scored.stdout)

    case()


# --- 2. generated definitions ------------------------------------------------------------

HEAD = yaml.safe_load(definition_head("fz-gen", "Generated questionnaire"))


@st.composite
def response_scale(draw: Any) -> dict[str, Any]:
    step = draw(st.sampled_from([1, 1, 0.5, 0.1, 2, 0.3, 0.25, 0.01]))
    low = draw(st.integers(-5, 5) | st.integers(-50, 50).map(lambda k: round(k * 0.1, 10)))
    n = draw(st.integers(1, 40))
    high = round(low + n * step, 10)
    if draw(st.integers(0, 49)) == 0:
        high = round(high + step / 2, 10)  # a step that does not reach the maximum
    out: dict[str, Any] = {"min": low, "max": high}
    if step != 1 or draw(st.booleans()):
        out["step"] = step
    grid = [round(low + k * step, 10) for k in range(n + 1)]
    if draw(st.integers(0, 3)) == 0:
        out["exclude"] = draw(st.lists(st.sampled_from(grid), max_size=2, unique=True))
    if draw(st.booleans()):
        code = draw(st.sampled_from([high + 1, 99, -99, low - 1] * 3 + [9]))
        out["not_applicable"] = {"values": [code], "label": "does not apply"}
    if draw(st.booleans()):
        out["labels"] = {low: "lowest", high: "highest"}
    return out


@st.composite
def missing_rule(draw: Any, n: int) -> dict[str, Any] | None:
    """None (all items required), withhold, or prorate with a minimum; now and then a rule
    the loader refuses (a minimum with withhold, prorate without one, one never met)."""
    kinds = ["none", "withhold", "answered", "proportion"] * 3 + ["odd"]
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None
    if kind == "withhold":
        return {"on_missing": "withhold"}
    if kind == "odd":
        return draw(
            st.sampled_from(
                [{"on_missing": "prorate"}, {"min_answered": 1, "on_missing": "withhold"}]
            )
        )
    if kind == "answered":
        return {"min_answered": draw(st.integers(1, n + 1)), "on_missing": "prorate"}
    share = draw(st.sampled_from([0.1, 0.25, 0.5, 0.75, 0.8, 1.0]))
    return {"min_proportion": share, "on_missing": "prorate"}


@st.composite
def definition(draw: Any) -> dict[str, Any]:
    """A definition as the README describes it, valid more often than not."""
    rs = draw(response_scale())
    ids = [f"i{k}" for k in range(1, draw(st.integers(1, 20)) + 1)]
    items: list[dict[str, Any]] = []
    for item in ids:
        items.append({"id": item, "text": f"hint {item}"})
        if draw(st.integers(0, 9)) == 0:
            items[-1]["response_scale"] = draw(response_scale())
    scales: dict[str, Any] = {}
    for k in range(1, draw(st.integers(1, 5)) + 1):
        members = draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
        method = draw(st.sampled_from(["sum", "mean"]))
        scale: dict[str, Any] = {"name": f"Scale {k}", "items": members}
        reverse = draw(st.lists(st.sampled_from(members), max_size=3, unique=True))
        if reverse:
            scale["reverse"] = reverse
        scale |= {"method": method, "higher_is": draw(st.sampled_from(["better", "worse"]))}
        rule = draw(missing_rule(len(members)))
        if rule is not None:
            scale["missing"] = rule
        if draw(st.booleans()):
            n = len(members) if method == "sum" else 1
            cut = round(rs["min"] * n + draw(st.floats(0, 1)) * (rs["max"] - rs["min"]) * n, 2)
            side = draw(st.sampled_from(["below", "at_most", "above", "at_least"]))
            scale["bands"] = [{"id": "cut", "label": "cut", side: cut, "source": "test"}]
        scales[f"s{k}"] = scale
    return {**HEAD, "response_scale": rs, "items": items, "scales": scales}


def grid(defn: dict[str, Any], item: str) -> list[float]:
    """The allowed answers of an item (by the reference's rule)."""
    rs = reference.item_scale(defn, item)
    low, high, step = float(rs["min"]), float(rs["max"]), float(rs.get("step", 1))
    points = [round(low + k * step, 10) for k in range(int((high - low) / step + 1e-9) + 1)]
    return [v for v in points if reference.allowed(defn, item, v)]


@pytest.mark.slow
@budgets(bounded=30, long=750)
def test_generated_definitions(tmp_path_factory: Any, budget: Budget) -> None:
    @budget.given(definition(), st.data())
    def case(defn: dict[str, Any], data: Any) -> None:
        top = tmp_path_factory.mktemp("gen")
        folder = top / "defs"
        folder.mkdir()
        path = folder / "fz-gen.yaml"
        path.write_text(yaml.safe_dump(defn, sort_keys=False), encoding="utf-8")
        args = ["validate", "--json", str(path)]
        checked = invoke("definitions (generated)", args, cwd=top)
        check(checked, args=args, allowed=frozenset({0, 1}), quiet_stdout=False)
        problems = json.loads(checked.stdout)[str(path)]
        assert (checked.code == 1) == bool(problems), (args, checked.stdout)
        for problem in problems:  # each refusal names its place and a path of the file
            assert re.fullmatch(re.escape(str(path)) + r":\d+:\d+", problem["location"]), problem
            assert re.split(r"[.\[]", problem["path"])[0] in defn, problem

        answers: dict[str, reference.Answer] = {}
        typed = []
        for item in reference.item_ids(defn):
            values = grid(defn, item) if not problems else [1.0]
            na = reference.na_codes(defn, item) if not problems else []
            kind = data.draw(st.sampled_from(["value"] * 4 + ["blank"] + ["na"] * bool(na)))
            if kind == "value" and values:
                answers[item] = data.draw(st.sampled_from(values))
                typed.append(f"{answers[item]:.10g}")
            elif kind == "na":
                answers[item] = reference.NA
                typed.append(data.draw(st.sampled_from(["n/a", f"{na[0]:.10g}"])))
            else:
                typed.append("")
        if data.draw(st.booleans()):  # in item order, blank = not answered
            text = ",".join(typed)
        else:  # item=value pairs; the others not answered
            pairs = zip(reference.item_ids(defn), typed, strict=True)
            text = " ".join(f"{item}={value}" for item, value in pairs if value)
        args = ["score", "fz-gen", "-d", str(folder), "--json", "--answers", text]
        before = snapshot(top)
        scored = invoke("definitions (generated)", args)
        # No answer at all (an empty text) is a wrong number of answers: exit 4.
        expected = 5 if problems else 0 if text else 4
        check(scored, args=args, folder=top, before=before, allowed=frozenset({expected}))
        if expected:
            return
        expect = reference.scale_scores(defn, answers)
        got = {s["id"]: s["score"] for s in json.loads(scored.stdout)["scales"]}
        assert set(got) == set(expect), (args, got, expect)
        for sid, score in got.items():
            assert reference.close(score, expect[sid]), (args, sid, score, expect[sid])

    case()
