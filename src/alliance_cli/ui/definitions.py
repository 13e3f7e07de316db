"""The definitions' screens: the list of questionnaires (``list``), one definition in full
with its alert rules (``show``), and the problems and notes of definition files
(``validate``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich import box
from rich.table import Table
from rich.text import Text

from alliance_cli.errors import Problem
from alliance_cli.text import fmt_num
from alliance_cli.ui.render import err, num, out, wrapped

if TYPE_CHECKING:
    from alliance_cli.model import Questionnaire


def problems(found: dict[str, list[Problem]]) -> None:
    """``alliance validate`` output: one line per problem, then a summary."""
    console = out()
    count = 0
    for items in found.values():
        for problem in items:
            count += 1
            console.print(Text(problem.render()), soft_wrap=True)
    bad = sum(1 for items in found.values() if items)
    if count:
        console.print(
            Text(
                f"{count} problem{'s' * (count != 1)} in {bad} of {len(found)} "
                f"file{'s' * (len(found) != 1)}",
                style="bold red",
            )
        )
    else:
        console.print(Text(f"OK: {len(found)} file{'s' * (len(found) != 1)} valid", style="green"))


def catalog(rows: Sequence[dict[str, object]]) -> None:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for col in ("id", "title", "respondent", "items", "scales", "key", "origin"):
        table.add_column(col, justify="right" if col in ("items", "scales") else "left")
    for row in rows:
        key = str(row["key_status"])
        style = "" if key == "verified" else "yellow"
        table.add_row(
            Text(str(row["id"]), style="bold"),
            Text(str(row["title"])),
            str(row["respondent"]),
            str(row["items"]),
            str(row["scales"]),
            Text(key, style=style),
            str(row["origin"]),
        )
    out().print(table)


def questionnaire(q: Questionnaire, origin: str, path: str) -> None:
    """Everything ``alliance show`` tells about a definition."""
    console = out()
    console.print(Text.assemble((q.id, "bold"), f" — {q.title}"))
    console.print(
        Text(
            f"version {q.version} · respondent {q.respondent.value} · measures "
            f"{q.construct_} · {origin} definition ({path})"
        )
    )
    if q.aliases:
        console.print(Text("aliases: " + ", ".join(q.aliases)))
    status = q.key_status.value
    console.print(
        Text.assemble("scoring key: ", (status, "green" if status == "verified" else "bold yellow"))
    )
    for src in q.key_sources:
        console.print(Text(f"  · {src}"))
    rs = q.response_scale
    console.print(Text(f"\nresponse scale: {rs.describe()}"))
    for value, label in rs.labels.items():
        console.print(Text(f"  {fmt_num(value):>4}  {label}"))
    if rs.not_applicable:
        codes = "/".join(fmt_num(c) for c in rs.not_applicable.values)
        console.print(Text(f"  {codes:>4}  {rs.not_applicable.label} (counts as unanswered)"))

    items = Table(
        title="items — hints in our own words (licensed wording: --item-text)",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        title_justify="left",
    )
    items.add_column("item", justify="right")
    items.add_column("hint")
    items.add_column("scales (R = reversed)")
    for item in q.items:
        used = ", ".join(
            q.scales[sid].name + (" (R)" if rev else "") for sid, rev in q.scales_using(item.id)
        )
        own = f" [{item.response_scale.describe()}]" if item.response_scale else ""
        items.add_row(Text(item.id), Text(item.text + own), Text(used))
    console.print(items)

    scales = Table(title="scales", box=box.SIMPLE_HEAD, show_edge=False, title_justify="left")
    for col in ("scale", "items", "reversed", "score", "range", "higher is", "missing data"):
        scales.add_column(col)
    for sid, scale in q.scales.items():
        lo, hi = q.scale_range(sid)
        scales.add_row(
            Text(f"{scale.name} ({sid})"),
            Text(" ".join(scale.items)),
            Text(" ".join(scale.reverse) or "–"),
            scale.method.value,
            f"{num(lo)}–{num(hi)}",
            scale.higher_is.value,
            Text(scale.missing.describe(len(scale.items))),
        )
    console.print(scales)
    for scale in q.scales.values():
        for band in scale.bands:
            kind = "flag" if band.flag else "band"
            console.print(
                Text(
                    f"{kind} {band.id}: {band.describe_rule(scale.name)} → "
                    f"{band.label}. Source: {band.source}"
                )
            )
        for norm in scale.norms:
            facts = ", ".join(
                f"{k} {fmt_num(v) if isinstance(v, float) else v}"
                for k, v in (
                    ("N", norm.n),
                    ("mean", norm.mean),
                    ("SD", norm.sd),
                    ("reliability", norm.reliability),
                )
                if v is not None
            )
            console.print(
                Text(f"norm for {scale.name}: {norm.population}: {facts}. Source: {norm.source}")
            )
    for rule in q.item_rules:
        which = ", ".join(rule.items) if rule.items else "any item"
        console.print(
            Text(
                f"item rule {rule.id}: {rule.describe_rule(which)} → "
                f"{rule.message} Source: {rule.source}"
            )
        )
    console.print(Text("\ncitations:"))
    for cite in q.citations:
        console.print(Text(f"  · {cite.text}" + (f" doi:{cite.doi}" if cite.doi else "")))
    console.print(Text(f"licence: {q.licence}"))
    if q.notes:
        console.print(Text(f"notes: {q.notes}"))
    if q.codes:
        console.print(Text("codes: " + ", ".join(f"{k} {v}" for k, v in q.codes.items())))


def alert_rules(q: Questionnaire) -> None:
    """The definition's alert rules with their parameters and sources (``alliance show``)."""
    from alliance_cli.clinic.alerts import PATTERN_SOURCE, RUPTURE_SOURCE
    from alliance_cli.clinic.change import JACOBSON_TRUAX
    from alliance_cli.clinic.divergence import DIVERGENCE_SOURCE

    a = q.alerts
    rc, ru, dv, hf, ce = a.reliable_change, a.rupture, a.divergence, a.high_then_falling, a.ceiling
    base = f"the baseline (mean of the first {rc.baseline_sessions} session(s))"
    if rc.points:
        reliable = f"a fall of at least {num(rc.points)} points from {base}"
    else:
        reliable = (
            f"a fall from {base} with |RCI| > {num(rc.z)}, against a reference SD and "
            "reliability (the definition's norm, else the practice's own), never the client's "
            "own SD"
        )
    rules = [
        ("cutoff", a.cutoff.enabled, "a session in a flagged band (above)", None),
        (
            "drop",
            a.drop.at_least is not None,
            f"a fall of at least {num(a.drop.at_least)} from the previous session",
            a.drop.source,
        ),
        ("reliable_change", rc.enabled, reliable, rc.source or JACOBSON_TRUAX),
        (
            "rupture",
            ru.enabled,
            f"a fall of more than {num(ru.k)} SD, SD the larger of the client's own (from "
            f"{ru.own_sd_min} earlier sessions) and {num(ru.min_sd_share * 100)}% of the range; "
            f"repaired within {ru.repair_within} sessions at the pre-drop score less "
            f"{num(ru.tolerance_sd)} SD",
            ru.source or RUPTURE_SOURCE,
        ),
        (
            "divergence",
            dv.enabled,
            f"a session's client–therapist gap more than {num(dv.k)} SD from the earlier gaps, "
            f"SD at least {num(dv.min_sd_share * 100)}% of the range",
            dv.source or DIVERGENCE_SOURCE,
        ),
        (
            "high_then_falling",
            hf.enabled,
            f"a prompt: the first session at ≥ {num(hf.high_pomp)}% of the best possible score, "
            f"then {hf.falls} falls (changes for the worse) in a row",
            PATTERN_SOURCE,
        ),
        (
            "ceiling",
            ce.enabled,
            f"a prompt: ≥ {num(ce.pomp)}% of the best possible score in every session (from "
            f"{ce.min_sessions})",
            PATTERN_SOURCE,
        ),
        (
            "missing",
            a.missing.enabled,
            "a session without this measure, or its score withheld",
            None,
        ),
    ]
    console = out()
    console.print(Text(f"\nalert rules (watched: {', '.join(q.watched_scales())}):"))
    for name, on, what, source in rules:
        line = (
            f"  {name}: {what}" + (f". Source: {source}" if source else "")
            if on
            else f"  {name}: off"
        )
        wrapped(console, line, "      ")


def definition_notes(found: dict[str, list[str]]) -> None:
    """Notes for a definition's author (``show``, ``validate``): what a rule lacks. On
    stderr, like the key warning: they are about the file, not its data."""
    console = err()
    for path, notes in found.items():
        for note in notes:
            console.print(Text(f"{path}: note: {note}", style="yellow"), soft_wrap=True)
