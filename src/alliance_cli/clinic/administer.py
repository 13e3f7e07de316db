"""Starting the interview (:mod:`alliance_cli.clinic.interview`): a new one, or a saved
draft's continuation, offered first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from alliance_cli.clinic.history import parse_when
from alliance_cli.clinic.interview import Details, Interview, Mode
from alliance_cli.clinic.screens import (
    DraftOffer,
    Prompter,
)
from alliance_cli.clinic.store import (
    Administration,
    Store,
    check_modality,
    drafts,
)
from alliance_cli.errors import Problem, StoreError
from alliance_cli.model import Questionnaire

# -- starting: a new interview or a draft's continuation ---------------------------------------


def administer(
    store: Store,
    q: Questionnaire,
    details: Details,
    prompter: Prompter,
    *,
    resume: bool = False,
    hide_results: bool = False,
    command_tail: Sequence[str] = (),
    find: Callable[[str], Questionnaire] | None = None,
) -> Mode:
    """Give ``q`` to the client: continue their draft when one exists (``resume``, or when
    they accept the offer), else start afresh; returns how the interview ended. The client
    must be registered unless ``details.new_client`` (see :meth:`Store.resolve_client`).
    ``find`` gives the client's other definitions, for the result screen's alerts."""
    store.require_writable()
    check_modality(details.modality)
    details = replace(
        details, client=store.resolve_client(details.client, new_client=details.new_client)
    )
    when = parse_when(details.when) if details.when is not None else None
    respondent = details.respondent or q.respondent.value
    draft = drafts.find(store, details.client, q.id, respondent)
    if resume and draft is None:
        raise StoreError(
            Problem(
                "no-draft", f"no draft of {q.id} ({respondent}) for {details.client} to resume"
            ),
            hint=f"start one without --resume: alliance administer {q.id} --client "
            f"{details.client}",
        )
    if draft is not None and not resume:
        try:
            choice = _offer(q, draft, prompter)
        except EOFError:
            choice = "q"
        except KeyboardInterrupt:
            choice = "interrupted"
        if choice in ("q", "interrupted"):
            kept = Interview(store, q, details, draft=draft, command_tail=command_tail)
            kept.mode = Mode.left if choice == "q" else Mode.interrupted
            prompter.show(kept.left_screen())
            return kept.mode
        if choice == "n":
            drafts.discard(store, draft.id)
            draft = None
    if draft is not None:
        draft = drafts.amend(
            store,
            draft.id,
            session=details.session,
            administered_at=when,
            clinician=details.clinician,
            modality=details.modality,
            note=details.note,
        )
    interview = Interview(
        store,
        q,
        details,
        draft=draft,
        hide_results=hide_results,
        command_tail=command_tail,
        find=find,
    )
    return interview.run(prompter)


def _offer(q: Questionnaire, draft: Administration, prompter: Prompter) -> str:
    """Ask whether to continue a draft: ``y`` (continue), ``n`` (discard) or ``q``."""
    ids = set(q.item_ids())
    notices: tuple[str, ...] = ()
    while True:
        answer = prompter.ask(
            DraftOffer(
                title=q.title,
                client=draft.client,
                session=draft.session,
                done=sum(1 for a in draft.answers if a.item in ids),
                total=len(ids),
                started=datetime.fromisoformat(draft.created_at)
                .astimezone()
                .strftime("%Y-%m-%d %H:%M"),
                notices=notices,
            )
        )
        key = answer.strip().casefold()
        if key in ("", "y", "yes"):
            return "y"
        if key in ("n", "no", "q"):
            return key[0]
        notices = ("Type y (or Enter) to continue, n to discard it and start again, q to leave.",)
