"""Fuzzing `alliance score ID --answers TEXT` (and `--answers-file`, `--answers -`) for every
bundled questionnaire and the tiny test one (it has a "does not apply" code).

Each case is built from tokens (numbers in and out of range, off-grid decimals, negatives,
huge, nan/inf, labels and label prefixes in any case, "does not apply" words and codes,
blanks, junk), joined by commas, semicolons, spaces, tabs or newlines, or given as item=value
pairs, sometimes with too few or too many. The expectation is decoded here, independently,
by the README's rules ("Giving answers": numbers, labels case-insensitively, `n/a`/`na`/the
label/the code for "does not apply", blank = missing) and scored by ``tests/fuzz/reference.py``:
exit 0 with its scores, or exit 4 where it finds an answer not allowed or a wrong count."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from alliance_cli.catalog import bundled_dir
from tests.fuzz import reference
from tests.fuzz.fuzzkit import Budget, Outcome, budgets, check, invoke, snapshot
from tests.helpers import TINY_YAML

TINY_DIR = Path(tempfile.mkdtemp(prefix="fuzz-answers-"))
(TINY_DIR / "tiny.yaml").write_text(TINY_YAML, encoding="utf-8")
DEFINITIONS = {
    path.stem: reference.load(path)
    for path in [*sorted(bundled_dir().glob("*.yaml")), TINY_DIR / "tiny.yaml"]
}
IDS = sorted(DEFINITIONS)

BAD = "bad"  # an answer the README does not allow
Decoded = reference.Answer | str
# A number as the README means it: digits, a decimal point, an exponent (no nan/inf words).
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
NA_WORDS = {"n/a", "na"}
JUNK = st.text(
    st.characters(
        blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters=",;=\x85"
    ),
    min_size=1,
    max_size=12,
)


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def decode(defn: Mapping[str, Any], item: str, token: str) -> Decoded:
    """One typed answer as the README reads it: None (blank), NA, a number, or BAD."""
    text = token.strip()
    if not text:
        return None
    rs = reference.item_scale(defn, item)
    na = rs.get("not_applicable")
    if _key(text) in NA_WORDS or (na and _key(text) == _key(na["label"])):
        return reference.NA if na else BAD
    value: float | None = float(text) if NUMBER.fullmatch(text) else None
    for point, label in rs.get("labels", {}).items():
        if _key(text) == _key(str(label)):
            value = float(point)
    if value is None:
        return BAD
    if any(abs(value - code) < 1e-9 for code in reference.na_codes(defn, item)):
        return reference.NA
    return value if reference.allowed(defn, item, value) else BAD


def _number(draw: Any, defn: Mapping[str, Any], item: str) -> str:
    rs = reference.item_scale(defn, item)
    low, high, step = float(rs["min"]), float(rs["max"]), float(rs.get("step", 1))
    n = round((high - low) / step)
    kind = draw(st.sampled_from(["grid"] * 6 + ["off", "out", "neg", "huge", "word"]))
    if kind == "grid":
        value = low + draw(st.integers(0, n)) * step
    elif kind == "off":  # between the steps, at most 3 decimals: clear of any tolerance
        value = low + draw(st.integers(0, n)) * step + step * draw(st.sampled_from([0.5, 0.25]))
    elif kind == "out":
        value = draw(st.sampled_from([low - step, high + step, high + 1, low - 1, high * 10]))
    elif kind == "neg":
        value = -float(draw(st.integers(0, 1000)))
    elif kind == "huge":
        return draw(st.sampled_from(["1e308", "1e999", "-1e999", "99999999999999999999", "1e-400"]))
    else:
        return draw(st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e", ".", "+-1"]))
    value = round(value, 3)
    styles = [f"{value:g}", repr(value), f"{value:.3f}", f"+{value:g}", f"{value:e}"]
    if value == int(value):
        styles += [str(int(value)), f"{int(value)}.", f"0{int(value)}" if value >= 0 else "-0"]
    return draw(st.sampled_from(styles))


def _cased(draw: Any, text: str) -> str:
    style = draw(st.sampled_from(["as", "lower", "upper", "title", "mixed"]))
    if style == "mixed":
        flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
        return "".join(c.upper() if f else c.lower() for c, f in zip(text, flips, strict=True))
    return {"as": text, "lower": text.lower(), "upper": text.upper(), "title": text.title()}[style]


@st.composite
def token(draw: Any, defn: Mapping[str, Any], item: str) -> str:
    rs = reference.item_scale(defn, item)
    labels = [str(label) for label in rs.get("labels", {}).values()]
    na = rs.get("not_applicable")
    kind = draw(st.sampled_from(["number"] * 5 + ["label"] * 2 + ["prefix", "na", "blank", "junk"]))
    if kind == "label" and labels:
        return _cased(draw, draw(st.sampled_from(labels)))
    if kind == "prefix" and labels:
        label = draw(st.sampled_from(labels))
        return _cased(draw, label[: draw(st.integers(1, len(label)))])
    if kind == "na":
        words = ["n/a", "na", "N/A", "NA", "Does not apply"]
        if na:
            words += [na["label"], *(f"{code:g}" for code in na["values"])]
        return _cased(draw, draw(st.sampled_from(words)))
    if kind == "blank":
        return draw(st.sampled_from(["", " ", "\t"]))
    if kind == "junk":
        return draw(JUNK)
    return _number(draw, defn, item)


@st.composite
def answers(draw: Any) -> tuple[str, str, list[str] | None, dict[str, Decoded] | None]:
    """(questionnaire id, answers text, its tokens in item order or None for pairs,
    the decoded answers or None for a wrong count)."""
    qid = draw(st.sampled_from(IDS))
    defn = DEFINITIONS[qid]
    items = reference.item_ids(defn)
    form = draw(st.sampled_from(["comma", "comma", "space", "lines", "pairs"]))
    if form == "pairs":
        ids = st.sampled_from([*items, "0", "x", "99"])  # with unknown items
        chosen = draw(st.lists(ids, min_size=1, max_size=len(items) + 2))
        pairs = [(item, draw(token(defn, item))) for item in chosen]
        sep = draw(st.sampled_from([" ", "  ", ", ", "; ", "\t", "\n"]))
        text = sep.join(f"{item}{draw(st.sampled_from(['=', ' = ']))}{t}" for item, t in pairs)
        decoded: dict[str, Decoded] = {}
        for item, t in pairs:
            if item not in items or item in decoded:
                decoded[item] = BAD  # an unknown item, an item answered twice
            else:
                decoded[item] = decode(defn, item, t)
        return qid, text, None, decoded
    tokens = [draw(token(defn, item)) for item in items]
    if form == "space":  # a blank or a label with a space cannot be one of these tokens
        tokens = [
            t if t.strip() and " " not in t else draw(_grid(defn, i))
            for t, i in zip(tokens, items, strict=True)
        ]
    count = draw(st.sampled_from([0] * 8 + [-1, 1, -len(items) + 1, 3]))
    if count < 0:
        tokens = tokens[:count]
    else:
        tokens += [draw(_grid(defn, items[0])) for _ in range(count)]
    seps = {
        "comma": [",", ";", ", ", " ; ", ",\t", ",\n"],
        "space": [" ", "\t", "  ", " \t "],
        "lines": ["\n", "\r\n"],
    }[form]
    sep = draw(st.sampled_from(seps))
    text = sep.join(tokens)
    if form != "space" and len(tokens) >= 2:  # a final line ending is the file's own, so
        # a blank last line needs one after it
        ends_blank = form == "lines" and tokens[-1] == ""
        text += "\n" if ends_blank else draw(st.sampled_from(["", "", "\n"]))
    if len(tokens) != len(items):
        return qid, text, tokens, None
    return qid, text, tokens, {i: decode(defn, i, t) for i, t in zip(items, tokens, strict=True)}


@st.composite
def _grid(draw: Any, defn: Mapping[str, Any], item: str) -> str:
    rs = reference.item_scale(defn, item)
    low, step = float(rs["min"]), float(rs.get("step", 1))
    n = round((float(rs["max"]) - low) / step)
    return f"{round(low + draw(st.integers(0, n)) * step, 3):g}"


def expect(
    outcome: Outcome, qid: str, decoded: Mapping[str, Decoded] | None, args: Sequence[str]
) -> dict[str, Any] | None:
    """Exit 4 where the reference finds a wrong count or an answer not allowed; else exit 0
    and the reference's scores. Returns the score document on success."""
    shown = f"{list(args)!r} -> {outcome.code}\n{outcome.stderr[-800:]}"
    if decoded is None or BAD in decoded.values():
        assert outcome.code == 4, shown
        return None
    assert outcome.code == 0, shown
    doc = json.loads(outcome.stdout)
    defn = DEFINITIONS[qid]
    answers = {k: v for k, v in decoded.items() if v != BAD}
    want = reference.scale_scores(defn, answers)  # type: ignore[arg-type]
    got = {s["id"]: s["score"] for s in doc["scales"]}
    assert set(got) == set(want), shown
    for sid, score in want.items():
        assert reference.close(got[sid], score), (sid, got[sid], score, shown)
    states = {a["item"]: a["state"] for a in doc["answers"]}
    for item in reference.item_ids(defn):
        value = decoded.get(item)
        state = {None: "missing", reference.NA: "not_applicable"}.get(value, "answered")  # type: ignore[arg-type]
        assert states[item] == state, (item, states, shown)
    return doc


def _defs(qid: str) -> list[str]:
    return ["-d", str(TINY_DIR)] if qid == "tiny" else []


NO_WARNING = pytest.mark.filterwarnings("error::RuntimeWarning")  # numpy's: noise on stderr


@pytest.mark.slow
@NO_WARNING
@budgets(bounded=60, long=2200)
def test_fuzz_answers_text(budget: Budget, tmp_path: Path) -> None:
    @budget.given(answers(), st.integers(0, 7))
    def case(drawn: tuple[str, str, Any, dict[str, Decoded] | None], draw8: int) -> None:
        qid, text, _, decoded = drawn
        args = ["score", qid, "--json", *_defs(qid), "--answers", text]
        if draw8:
            outcome = invoke("answers", args)
            check(outcome, args=args)
            expect(outcome, qid, decoded, args)
            return
        # One case in eight also records: on failure the folder is as it was; on success
        # the history shows the same scores.
        with tempfile.TemporaryDirectory(dir=tmp_path) as name:
            folder = Path(name)
            args += ["--client", "X", "--new-client", "--db", str(folder / "h.db")]
            before = snapshot(folder)
            outcome = invoke("answers", args)
            check(outcome, args=args, folder=folder, before=before)
            doc = expect(outcome, qid, decoded, args)
            if doc is None:
                return
            history = ["history", "X", "--json", "--db", str(folder / "h.db"), *_defs(qid)]
            shown = invoke("answers", history)
            assert shown.code == 0, shown.stderr
            session = json.loads(shown.stdout)["series"][0]["sessions"][-1]
            assert [(s["id"], s["score"]) for s in session["scales"]] == [
                (s["id"], s["score"]) for s in doc["scales"]
            ]

    case()


@st.composite
def answer_bytes(draw: Any) -> tuple[str, bytes, str | None]:
    """(questionnaire id, the file's bytes, the text alliance must read from them or None
    where they must be refused as unreadable, exit 6)."""
    qid, text, _, _ = draw(answers())
    how = draw(
        st.sampled_from(["utf-8"] * 3 + ["bom", "utf-16", "latin-1", "nul", "invalid", "huge"])
    )
    data = text.encode("utf-8")
    if how == "bom":
        data = b"\xef\xbb\xbf" + data
    elif how == "utf-16":  # its byte-order mark is no UTF-8
        data = text.encode(draw(st.sampled_from(["utf-16", "utf-32"])))
    elif how == "latin-1":
        data = text.encode("latin-1", "replace")
    elif how == "huge":  # past the documented 1,000,000 bytes
        return qid, data + b" " * 1_000_001, None
    elif how != "utf-8":
        at = draw(st.integers(0, len(data)))
        bad = [b"\0"] if how == "nul" else [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe9"]
        data = data[:at] + draw(st.sampled_from(bad)) + data[at:]
    try:
        return qid, data, data.decode("utf-8-sig")  # the README: a UTF-8 byte-order mark is
    except UnicodeDecodeError:  # dropped (as Notepad writes one)
        return qid, data, None


@pytest.mark.slow
@NO_WARNING
@budgets(bounded=25, long=800)
def test_fuzz_answers_file_and_stdin(budget: Budget, tmp_path: Path) -> None:
    """A file or stdin reads as the same text would as --answers (a UTF-8 byte-order mark
    dropped); bytes that are not UTF-8, or past the limit, are exit 6 naming the source."""

    @budget.given(answer_bytes(), st.booleans())
    def case(drawn: tuple[str, bytes, str | None], stdin: bool) -> None:
        qid, data, text = drawn
        path = tmp_path / "answers.txt"
        path.write_bytes(data)
        source = ["--answers", "-"] if stdin else ["--answers-file", str(path)]
        args = ["score", qid, "--json", *_defs(qid), *source]
        outcome = invoke("answers", args, input=data if stdin else None)
        check(outcome, args=args)
        if text is None:
            assert outcome.code == 6, (args, outcome.code, outcome.stderr)
            assert ("stdin" if stdin else str(path)) in outcome.stderr, outcome.stderr
            return
        same = invoke("answers", [*args[:-2], "--answers", text])
        assert (outcome.code, outcome.stdout, outcome.stderr) == (
            same.code,
            same.stdout,
            same.stderr,
        ), args

    case()
