"""The reliability table of ``alliance reliability`` on stdout; warnings go to stderr.

Item ids and scale names are user text (from definitions): they go into rich as ``Text``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.table import Table
from rich.text import Text

from alliance_cli.ui import render

if TYPE_CHECKING:
    from alliance_cli.research.reliability import Reliability, ScaleReliability


def _n(x: float, digits: int = 2) -> str:
    """A statistic with a fixed number of decimals, so that a column of them lines up
    (``0.840``, not ``0.84``); NaN → a dash."""
    return "–" if x != x else f"{x:.{digits}f}"


def show(result: Reliability) -> None:
    """Per scale: the descriptive line, alpha and omega, the item table, repeated measures
    (an item correlating negatively with the rest is marked ``!``)."""
    console = render.out()
    for s in result.scales:
        console.print(Text(f"{s.questionnaire} {s.scale}", style="bold") + Text(f" ({s.name})"))
        for line in _lines(s):
            console.print(Text("  " + line))
        if s.alpha is not None:
            table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 2))
            for col in ("item", "n", "mean", "sd", "r drop", "alpha if deleted"):
                table.add_column(col, justify="left" if col == "item" else "right")
            for i in s.alpha.items:
                table.add_row(
                    Text(i.item + (" !" if i.negative else "")),
                    f"{i.n:,}",
                    _n(i.mean),
                    _n(i.sd),
                    _n(i.r_drop),
                    _n(i.alpha_if_deleted, 3),
                )
            console.print(table)


def messages(result: Reliability) -> None:
    """On stderr: a warning for every item correlating negatively with the rest of its
    scale, and a notice for every statistic left empty; first, the rows left out (and why) and
    the bad cells scored as missing."""
    render.notices(line for line in (result.accounting_line(), result.bad_cells_line()) if line)
    for s in result.scales:
        for warning in s.warnings:
            render.warning(f"{s.questionnaire} {s.scale}: {warning}")
        render.notices(f"{s.questionnaire} {s.scale}: {note}" for note in s.notes)


def nothing_kept(result: Reliability) -> None:
    """No row was kept: why (the rows left out), and how to print the empty result."""
    if line := result.accounting_line():
        render.notices([line])
    render.warning(
        "no row was kept, so there is nothing to compute reliability on; "
        "--allow-empty prints the empty result and exits 0"
    )


def _lines(s: ScaleReliability) -> list[str]:
    d = s.descriptives
    lines = [
        f"N complete {d.n_complete:,} of {d.n_rows:,} · complete-case mean {_n(d.mean)} · "
        f"SD {_n(d.sd)} · floor {_n(d.floor_pct, 1)}% · ceiling {_n(d.ceiling_pct, 1)}% "
        "(not prorated)"
    ]
    if s.alpha is not None:
        a = s.alpha
        lines.append(
            f"alpha {_n(a.raw_alpha, 3)} (95% CI {_n(a.ci_lower, 3)} to {_n(a.ci_upper, 3)}, "
            f"Feldt) · standardized {_n(a.std_alpha, 3)} (psych::alpha)"
            + (
                f" · omega total {_n(s.omega.omega_total, 3)} (psych::omega)"
                if s.omega is not None
                else ""
            )
        )
    if s.ordinal is not None:
        o = s.ordinal
        lines.append(
            f"ordinal (polychoric): alpha {_n(o.ordinal_alpha, 3)} · omega total "
            f"{_n(o.ordinal_omega, 3)} (latent responses; psych) · categorical omega "
            f"{_n(o.categorical_omega, 3)} (observed sum; Green & Yang 2009)"
            + (" · smoothed" if o.smoothed else "")
        )
    if s.icc is not None:
        i = s.icc
        lines.append(
            f"ICC1 {_n(i.icc1, 3)} · ICC1k {_n(i.icc1k, 3)} (Shrout–Fleiss ICC(1,1) and "
            f"ICC(1,k); psych::statsBy ICC1 and ICC2) · {i.n_clients:,} clients, "
            f"{i.n_obs:,} rows with a client and every item answered"
        )
    if s.two_level is not None:
        t = s.two_level
        lines.append(
            f"alpha within clients {_n(t.alpha_within, 3)} · between clients "
            f"{_n(t.alpha_between, 3)} (Geldhof et al. 2014; {t.n_clients:,} clients, "
            f"{t.n_rows:,} rows)"
        )
    if s.multilevel is not None:
        m = s.multilevel
        lines.append(
            f"psych::mlr: RkF {_n(m.rkf, 3)} · R1R {_n(m.r1r, 3)} · RkR {_n(m.rkr, 3)} · "
            f"Rc {_n(m.rc, 3)} · RkRn {_n(m.rkrn, 3)} · Rcn {_n(m.rcn, 3)}"
        )
        lines.append(
            "variance: "
            + " · ".join(
                f"{k} {_n(v, 4)}"
                for k, v in (
                    ("id", m.var_id),
                    ("time", m.var_time),
                    ("items", m.var_items),
                    ("id×time", m.var_id_time),
                    ("id×items", m.var_id_items),
                    ("time×items", m.var_time_items),
                    ("residual", m.var_residual),
                )
            )
        )
    return lines
