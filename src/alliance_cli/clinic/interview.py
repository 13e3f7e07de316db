"""The interview: a questionnaire given item by item, as a state machine.

No terminal code lives here. The interview builds *screens* (plain frozen data) and hands
them to a :class:`Prompter` — ``ui/prompter.py`` for the terminal, a scripted one in the
tests — which returns the line typed. Every answer is saved as a draft the moment it is
given (``store/drafts.py``, one transaction each), so an interview stopped by ``q``, Ctrl-C,
a closed terminal or a kill resumes at the first item not yet answered or skipped;
submitting turns that same row into a final administration.

At an item: a number, a label of the scale or its first letters (case-insensitive; letters
that fit several labels are refused, naming them), "does not apply" where the item offers
it, decimals on visual-analogue items; ``b`` back, ``s`` skip, ``?`` help, ``q`` save and
leave, Enter alone keeps the answer already given. The letters ``b``, ``s`` and ``q`` alone
are always commands: a label starting with one of them needs two letters or more.

Skip rule: ``s`` leaves an item blank only where the definition's missing-data rules let
every scale containing the item still be scored — counting this item and every other item
already left blank (skipped or "does not apply") as unanswered, each such scale must keep at
least ``MissingRule.required`` answerable items. An item in no scale can always be skipped;
an item of a scale that needs all its items (SRS, ORS) never can. So a skip alone never
withholds a score. "Does not apply" is an answer the definition offers and is always
accepted where offered, even when it leaves a scale short (the score then says why).
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from alliance_cli import scoring
from alliance_cli.clinic.answering import (
    describe_answer,
    is_not_applicable,
    read_answer,
    skip_blockers,
    takes,
)
from alliance_cli.clinic.history import date_warnings, parse_when
from alliance_cli.clinic.overview import session_view
from alliance_cli.clinic.screens import (
    Choice,
    ItemScreen,
    LeftScreen,
    Prompter,
    ResultScreen,
    ReviewRow,
    ReviewScreen,
    ThankYouScreen,
)
from alliance_cli.clinic.store import (
    Administration,
    Answer,
    NewAdministration,
    Store,
    drafts,
)
from alliance_cli.model import Questionnaire, ResponseScale


class Mode(StrEnum):
    item = "item"
    review = "review"
    submitted = "submitted"
    left = "left"
    interrupted = "interrupted"


@dataclass(frozen=True)
class Details:
    """Where the administration belongs; ``None`` means the default (or, on resume, the
    draft's own value)."""

    client: str
    session: int | None = None
    when: str | None = None
    respondent: str | None = None
    clinician: str | None = None
    modality: str | None = None
    note: str | None = None
    new_client: bool = False
    """Register ``client`` as a new client (with the first answer); it must not exist yet."""


# -- the interview ---------------------------------------------------------------------------


class Interview:
    """One administration in progress. Drive it with :meth:`run`, or step by step with
    :meth:`screen` and :meth:`handle`. ``draft`` continues a stored draft; ``command_tail``
    holds extra arguments the resume command needs (``--db``, ``-d``, ``--item-text``)."""

    def __init__(
        self,
        store: Store,
        q: Questionnaire,
        details: Details,
        *,
        draft: Administration | None = None,
        hide_results: bool = False,
        command_tail: Sequence[str] = (),
        find: Callable[[str], Questionnaire] | None = None,
    ) -> None:
        self.store, self.q, self.details = store, q, details
        self.find = find
        self.draft = draft
        self.hide_results = hide_results
        self.command_tail = tuple(command_tail)
        self.ids = q.item_ids()
        self.respondent = details.respondent or q.respondent.value
        self.values: dict[str, float] = {}
        """Items decided so far: the value, the "does not apply" code, or NaN if skipped."""
        self.mode = Mode.item
        self.position = 0
        self.notices: list[str] = []
        self.administration: Administration | None = None
        self._help = False
        self._to_review = False  # after a jump from the review, go back to it
        if draft is not None:
            self._load(draft)
        self._go_to_first_open()

    def _load(self, draft: Administration) -> None:
        dropped = 0
        for a in draft.answers:
            if a.item not in self.ids:
                continue
            value = math.nan if a.value is None else float(a.value)
            rs = self.q.scale_of(a.item)
            if math.isnan(value) or takes(rs, value):
                self.values[a.item] = value
            else:
                dropped += 1
        if dropped:
            self.notices.append(
                f"The {self.q.id} definition changed since this draft was started; "
                f"{dropped} answer{'s' * (dropped != 1)} no longer allowed will be asked again."
            )

    # -- state -------------------------------------------------------------------------

    @property
    def done(self) -> int:
        return len(self.values)

    def blank(self) -> set[str]:
        """Items decided but left without a score: skipped or "does not apply"."""
        return {
            i
            for i, v in self.values.items()
            if math.isnan(v) or is_not_applicable(self.q.scale_of(i), v)
        }

    def screen(self) -> ItemScreen | ReviewScreen:
        if self.mode is Mode.item:
            return self._item_screen()
        if self.mode is Mode.review:
            return ReviewScreen(
                title=self.q.title,
                rows=tuple(
                    ReviewRow(n, i, self.q.item(i).text, describe_answer(self.q, i, self.values[i]))
                    for n, i in enumerate(self.ids, start=1)
                ),
                notices=tuple(self.notices),
                help=REVIEW_HELP if self._help else (),
            )
        raise RuntimeError(f"the interview is over ({self.mode.value})")

    def handle(self, text: str) -> None:
        """Act on one line typed at the current screen."""
        self.notices = []
        self._help = False
        token = text.strip()
        key = token.casefold()
        if key == "q":
            self.mode = Mode.left
        elif key == "?":
            self._help = True
        elif self.mode is Mode.item:
            self._at_item(token, key)
        elif self.mode is Mode.review:
            self._at_review(token, key)
        else:
            raise RuntimeError(f"the interview is over ({self.mode.value})")

    def run(self, prompter: Prompter) -> Mode:
        """Ask until submitted or left, then show the closing screen. End of input counts as
        ``q``; Ctrl-C stops at once — every answer given is already in the draft."""
        try:
            while self.mode in (Mode.item, Mode.review):
                self.handle(prompter.ask(self.screen()))
        except EOFError:
            self.mode = Mode.left
        except KeyboardInterrupt:
            self.mode = Mode.interrupted
        if self.mode is Mode.submitted:
            prompter.show(ThankYouScreen() if self.hide_results else self.result())
        else:
            prompter.show(self.left_screen())
        return self.mode

    def result(self) -> ResultScreen:
        """This administration scored, against the respondent's earlier sessions."""
        assert self.administration is not None
        view = session_view(self.store, self.q, self.administration, self.find)
        this = next(
            s for s in view.series.sessions if s.administration.id == self.administration.id
        )
        report = replace(
            this.report,
            warnings=[*this.report.warnings, *date_warnings(self.store, self.administration)],
        )
        return ResultScreen(self.administration, report, view.series, view.alerts, view.marked)

    def left_screen(self) -> LeftScreen:
        args = ["alliance", "administer", self.q.id, "--client", self.details.client]
        if self.respondent != self.q.respondent.value:
            args += ["--respondent", self.respondent]
        return LeftScreen(
            done=self.done,
            total=len(self.ids),
            saved=self.draft is not None,
            resume=shlex.join([*args, "--resume", *self.command_tail]),
            interrupted=self.mode is Mode.interrupted,
        )

    # -- transitions ---------------------------------------------------------------------

    def _at_item(self, token: str, key: str) -> None:
        item_id = self.ids[self.position]
        if key == "b":
            if self.position == 0:
                self.notices.append("This is the first item.")
            else:
                self.position -= 1
        elif key == "s":
            blockers = skip_blockers(self.q, item_id, self.blank())
            if blockers:
                self.notices.append(
                    "This item cannot be skipped: " + "; ".join(blockers) + ". Please answer it."
                )
            else:
                self._save(item_id, math.nan)
        elif key == "":
            if item_id in self.values:
                self._advance()
            else:
                self.notices.append("Type an answer, then Enter (? for help).")
        else:
            got = read_answer(self.q, item_id, token)
            if isinstance(got, str):
                self.notices.append(got)
            else:
                self._save(item_id, got)

    def _at_review(self, token: str, key: str) -> None:
        if key in ("", "y", "yes"):
            self._submit()
        elif key == "b":
            self._jump(len(self.ids) - 1)
        elif token.isdigit() and 1 <= int(token) <= len(self.ids):
            self._jump(int(token) - 1)
        else:
            self.notices.append(
                f"Type an item number (1–{len(self.ids)}) to change its answer, Enter or y "
                "to submit, q to stop for now."
            )

    def _jump(self, position: int) -> None:
        self.mode, self.position, self._to_review = Mode.item, position, True

    def _save(self, item_id: str, value: float) -> None:
        position = self.ids.index(item_id)
        if math.isnan(value):
            answer = Answer(item_id, None, scoring.STATE_NAMES[scoring.MISSING])
        else:
            na = is_not_applicable(self.q.scale_of(item_id), value)
            state = scoring.NOT_APPLICABLE if na else scoring.ANSWERED
            answer = Answer(item_id, value, scoring.STATE_NAMES[state])
        if self.draft is None:
            self.draft = drafts.start(self.store, self._new_draft(), position, answer)
        else:
            drafts.put(self.store, self.draft.id, position, answer)
        self.values[item_id] = value
        self._advance()

    def _advance(self) -> None:
        if not self._to_review and self.position + 1 < len(self.ids):
            self.position += 1
        else:
            self._go_to_first_open()

    def _go_to_first_open(self) -> None:
        """The first item not yet decided, else the review."""
        open_items = [n for n, i in enumerate(self.ids) if i not in self.values]
        if open_items:
            self.mode, self.position = Mode.item, open_items[0]
        else:
            self.mode, self._to_review = Mode.review, False

    def _submit(self) -> None:
        assert self.draft is not None  # every decided item went into the draft
        self.administration = drafts.submit(
            self.store, self.draft.id, self.ids, self.q.version, self.q.content_hash()
        )
        self.mode = Mode.submitted

    def _new_draft(self) -> NewAdministration:
        d = self.details
        return NewAdministration(
            client=d.client,
            questionnaire_id=self.q.id,
            questionnaire_version=self.q.version,
            content_hash=self.q.content_hash(),
            answers=(),
            respondent=self.respondent,
            administered_at=parse_when(d.when),
            session=d.session,
            clinician=d.clinician,
            modality=d.modality,
            note=d.note,
            new_client=d.new_client,
        )

    def _item_screen(self) -> ItemScreen:
        item_id = self.ids[self.position]
        rs = self.q.scale_of(item_id)
        na = rs.not_applicable
        can_skip = not skip_blockers(self.q, item_id, self.blank())
        current = self.values.get(item_id)
        return ItemScreen(
            title=self.q.title,
            number=self.position + 1,
            total=len(self.ids),
            text=self.q.item(item_id).text,
            choices=tuple(Choice(v, lab) for v, lab in sorted(rs.labels.items())),
            every_point_labelled=len(rs.labels) == rs.n_points,
            scale=rs.describe(),
            decimals=rs.step < 1,
            not_applicable=Choice(na.values[0], na.label) if na else None,
            current=None if current is None else describe_answer(self.q, item_id, current),
            current_value=current,
            can_skip=can_skip,
            notices=tuple(self.notices),
            help=self._item_help(rs, can_skip) if self._help else (),
        )

    def _item_help(self, rs: ResponseScale, can_skip: bool) -> tuple[str, ...]:
        lines = [
            "Type the number of your answer, or the first letters of its words (upper or "
            "lower case, enough to tell it from the others), then press Enter.",
        ]
        if rs.step < 1:
            lines.append(f"Any number {rs.describe()} is an answer (7.5 or 7,5 for a decimal).")
        if rs.not_applicable is not None:
            lines.append(f'Type n/a or "{rs.not_applicable.label}" if the item does not apply.')
        lines += [
            "Enter on its own keeps the answer already given.",
            "b  go back to the previous item",
            "s  skip this item"
            if can_skip
            else "s  (not here: the scores need this item answered)",
            "q  stop for now; your answers are kept and you can continue later",
            "?  this help",
            "b, s and q alone are commands: for an answer starting with one of these "
            "letters, type two letters or more.",
        ]
        return tuple(lines)


REVIEW_HELP = (
    "Enter or y  submit these answers",
    "a number    change the answer to that item",
    "b           back to the last item",
    "q           stop for now; your answers are kept and you can continue later",
)
