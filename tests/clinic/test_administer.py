"""The interview state machine, driven by a scripted prompter; drafts in the store."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from alliance_cli.catalog import Catalog
from alliance_cli.cli import app
from alliance_cli.clinic.administer import administer
from alliance_cli.clinic.answering import describe_answer, read_answer, skip_blockers
from alliance_cli.clinic.history import record
from alliance_cli.clinic.interview import REVIEW_HELP, Details, Interview, Mode
from alliance_cli.clinic.screens import (
    DraftOffer,
    ItemScreen,
    LeftScreen,
    ResultScreen,
    ReviewScreen,
    ThankYouScreen,
)
from alliance_cli.clinic.store import Answer, Store, drafts
from alliance_cli.definitions import load_definition
from alliance_cli.errors import StoreError, UsageError
from alliance_cli.model import Questionnaire
from alliance_cli.result import score
from alliance_cli.scoring import NOT_APPLICABLE, cell_states
from alliance_cli.ui.prompter import TerminalPrompter
from tests.helpers import TINY_YAML, Script


@pytest.fixture
def store() -> Iterator[Store]:
    with Store(":memory:") as s:
        s.new_client("C-1")
        yield s


def registered() -> Store:
    """A throw-away store where client C-1 is registered."""
    store = Store(":memory:")
    store.new_client("C-1")
    return store


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_environment([])


@pytest.fixture
def wai(catalog: Catalog) -> Questionnaire:
    return catalog.get("wai-sr")


def values(store: Store, admin_id: int) -> list[float | None]:
    return [a.value for a in store.administration(admin_id).answers]


C1 = Details(client="C-1", when="2026-10-01")
WAI_ALL = ["5", "4", "4", "5", "3", "4", "5", "4", "4", "5", "4", "4"]


# -- reading answers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qid", "typed", "expected"),
    [
        ("wai-sr", "4", 4),
        ("wai-sr", "se", 1),
        ("wai-sr", "SO", 2),
        ("wai-sr", "fairly often", 3),
        ("wai-sr", "  Very   OFTEN ", 4),
        ("wai-sr", "f", 3),
        ("wai-sr", "al", 5),
        ("haq-ii", "strongly a", 6),
        ("haq-ii", "d", 2),
        ("srs", "7.5", 7.5),
        ("srs", "7,5", 7.5),
        ("srs", "0", 0),
        ("care", "n/a", 6),
        ("care", "does", 6),
        ("care", "6", 6),
        ("care", "ve", 4),
    ],
)
def test_answers_by_value_label_and_unique_prefix(
    catalog: Catalog, qid: str, typed: str, expected: float
) -> None:
    q = catalog.get(qid)
    assert read_answer(q, q.item_ids()[0], typed) == expected


@pytest.mark.parametrize(
    ("qid", "typed", "message"),
    [
        ("wai-sr", "s", '"s" fits several answers (Seldom, Sometimes); type more letters'),
        (
            "haq-ii",
            "Strongly",
            '"Strongly" fits several answers (Strongly disagree, Strongly agree); '
            "type more letters",
        ),
        (
            "wai-sr",
            "7",
            "7 is not an answer here; allowed: 1–5 (1 Seldom, 2 Sometimes, "
            "3 Fairly often, 4 Very often, 5 Always)",
        ),
        ("srs", "7.55", "7.55 is not an answer here; allowed: 0–10 in steps of 0.1"),
        ("srs", "11", "11 is not an answer here; allowed: 0–10 in steps of 0.1"),
        (
            "wai-sr",
            "x",
            '"x" is neither a number nor a label of the scale; allowed: 1–5 '
            "(1 Seldom, 2 Sometimes, 3 Fairly often, 4 Very often, 5 Always)",
        ),
        (
            "wai-sr",
            "n/a",
            '"n/a" means does not apply, which this item does not offer; '
            "allowed: 1–5 (1 Seldom, 2 Sometimes, 3 Fairly often, 4 Very often, 5 Always)",
        ),
    ],
)
def test_unreadable_answers_say_why(catalog: Catalog, qid: str, typed: str, message: str) -> None:
    q = catalog.get(qid)
    assert read_answer(q, q.item_ids()[0], typed) == message


def test_the_interview_takes_what_the_scorer_takes(tiny: Questionnaire) -> None:
    # One rule (scoring.reason_of) with one tolerance: a typed value within it of the
    # "does not apply" code is that code in the interview as in scoring (the interview had
    # its own 1e-9 and refused it).
    value = read_answer(tiny, "a", "9.0000009")
    assert value == 9.0000009
    assert describe_answer(tiny, "a", value) == "9 Does not apply"
    assert cell_states(tiny, [[value, 1, 1, 1]])[0, 0] == NOT_APPLICABLE
    assert describe_answer(tiny, "a", 4.0000009) == "4 Often"
    assert read_answer(tiny, "a", "9.000002") == (
        "9.000002 is not an answer here; allowed: 1–5 (1 Never, 2 Rarely, 3 Sometimes, "
        '4 Often, 5 Always), or 9 or "Does not apply" for does not apply'
    )


# -- answering and submitting ------------------------------------------------------------


def test_whole_interview_records_one_final_administration(
    store: Store, tiny: Questionnaire
) -> None:
    script = Script("5", "Often", "so", "n/a", "")
    assert administer(store, tiny, C1, script) is Mode.submitted
    screens = script.asked
    assert [s.number for s in screens[:4]] == [1, 2, 3, 4]  # type: ignore[attr-defined]
    first = screens[0]
    assert isinstance(first, ItemScreen)
    assert (first.number, first.total, first.text, first.scale) == (1, 4, "first hint", "1–5")
    assert [(c.code, c.label) for c in first.choices][:2] == [("1", "Never"), ("2", "Rarely")]
    assert first.every_point_labelled and not first.decimals
    assert first.not_applicable is not None and first.not_applicable.code == "9"
    review = screens[4]
    assert isinstance(review, ReviewScreen)
    assert [r.answer for r in review.rows] == [
        "5 Always",
        "4 Often",
        "3 Sometimes",
        "9 Does not apply",
    ]
    [result] = script.shown
    assert isinstance(result, ResultScreen)
    assert [s.score for s in result.report.scales] == [
        7,
        4,
    ]  # warmth 5 + (6 − 4); work: mean of a and c
    [final] = store.history("C-1")
    assert final.id == result.administration.id
    assert (final.status, final.session, final.administered_at) == ("final", 1, "2026-10-01")
    assert [(a.item, a.value, a.state) for a in final.answers] == [
        ("a", 5, "answered"),
        ("b", 4, "answered"),
        ("c", 3, "answered"),
        ("d", 9, "not_applicable"),
    ]
    assert [a["action"] for a in store.audit()] == ["record"]
    assert store.count("draft") == 0


def test_each_answer_is_in_the_draft_the_moment_it_is_given(
    store: Store, wai: Questionnaire
) -> None:
    seen: list[int] = []

    class Watching(Script):
        def ask(self, screen: object) -> str:
            draft = drafts.find(store, "C-1", "wai-sr", "client")
            seen.append(0 if draft is None else len(draft.answers))
            return super().ask(screen)

    administer(store, wai, C1, Watching("5", "4", "s", "q"))
    assert seen == [0, 1, 2, 3]


def test_the_result_shows_change_against_the_previous_session(
    store: Store, wai: Questionnaire
) -> None:
    record(store, wai, score(wai, "5,5,5,5,5,5,5,5,5,5,5,5"), client="C-1", when="2026-09-01")
    script = Script(*["4"] * 12, "y")
    administer(store, wai, C1, script)
    [result] = script.shown
    assert isinstance(result, ResultScreen)
    assert result.administration.session == 2
    assert result.series.changes("total") == [None, -1]
    assert [s.administration.session for s in result.series.sessions] == [1, 2]
    # 5 → 4 on the 1–5 mean is a fall of 1 > 2 × 0.25 (the floor, 6.25% of the range): a
    # possible rupture, shown with this session's other alerts — and the note that reliable
    # change needs a reference SD (no norm in this database).
    assert [(a.rule, a.kind, a.session) for a in result.alerts] == [
        ("reliable_change", "info", 2),
        ("rupture", "concern", 2),
    ]


def test_hide_results_shows_a_thank_you(store: Store, tiny: Questionnaire) -> None:
    script = Script("1", "2", "3", "4", "")
    assert administer(store, tiny, C1, script, hide_results=True) is Mode.submitted
    assert script.shown == [ThankYouScreen()]
    assert store.count("final") == 1


# -- back, skip, help, review ------------------------------------------------------------


def test_back_shows_the_answer_given_and_enter_keeps_it(store: Store, tiny: Questionnaire) -> None:
    interview = Interview(store, tiny, C1)
    interview.handle("b")
    assert interview.screen().notices == ("This is the first item.",)  # type: ignore[union-attr]
    interview.handle("4")
    interview.handle("b")
    screen = interview.screen()
    assert isinstance(screen, ItemScreen)
    assert (screen.number, screen.current, screen.current_value) == (1, "4 Often", 4)
    interview.handle("")
    assert interview.screen().number == 2  # type: ignore[union-attr]
    interview.handle("")
    assert interview.screen().notices == (  # type: ignore[union-attr]
        "Type an answer, then Enter (? for help).",
    )
    interview.handle("b")
    interview.handle("2")  # a new answer replaces the old one, in the draft too
    assert interview.values["a"] == 2
    assert interview.draft is not None
    assert values(store, interview.draft.id) == [2]


def test_skip_rules(catalog: Catalog, tiny: Questionnaire) -> None:
    wai = catalog.get("wai-sr")
    assert skip_blockers(wai, "4", set()) == []
    assert skip_blockers(wai, "4", {"6"}) == [
        "Goal needs at least 3 of its 4 items answered and 1 is already blank"
    ]
    # Total allows 3 blank of 12: a fourth is refused even in a subscale with none blank.
    assert skip_blockers(wai, "3", {"4", "10", "6"}) == [
        "Total needs at least 9 of its 12 items answered and 3 are already blank"
    ]
    srs = catalog.get("srs")
    assert skip_blockers(srs, "2", set()) == ["Total needs all its 4 items answered"]
    assert skip_blockers(tiny, "a", set()) == ["Warmth needs all its 2 items answered"]
    assert skip_blockers(tiny, "c", set()) == []
    assert skip_blockers(tiny, "c", {"d"}) == [
        "Work needs at least 2 of its 3 items answered and 1 is already blank"
    ]


def test_skip_is_refused_where_the_scores_need_the_item(store: Store, tiny: Questionnaire) -> None:
    interview = Interview(store, tiny, C1)
    screen = interview.screen()
    assert isinstance(screen, ItemScreen) and not screen.can_skip
    interview.handle("s")
    screen = interview.screen()
    assert isinstance(screen, ItemScreen)
    assert screen.number == 1
    assert screen.notices == (
        "This item cannot be skipped: Warmth needs all its 2 items answered. Please answer it.",
    )
    for line in ("5", "1", "s"):  # c may be skipped: Work keeps a and d
        interview.handle(line)
    assert math.isnan(interview.values["c"])
    screen = interview.screen()
    assert isinstance(screen, ItemScreen) and screen.number == 4 and not screen.can_skip
    interview.handle("n/a")  # "does not apply" is an answer the definition offers
    assert interview.mode is Mode.review
    assert interview.blank() == {"c", "d"}


def test_an_item_in_no_scale_can_always_be_skipped(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "extra.yaml"
    path.write_text(
        TINY_YAML.replace("id: tiny", "id: extra").replace(
            "  - {id: d, text: fourth hint}\n",
            "  - {id: d, text: fourth hint}\n  - {id: e, text: unscored}\n",
        ),
        encoding="utf-8",
    )
    q = load_definition(path)
    assert skip_blockers(q, "e", {"c", "d"}) == []
    script = Script("5", "5", "5", "5", "s", "")
    assert administer(store, q, C1, script) is Mode.submitted
    final = store.history("C-1")[0]
    assert final.answers[-1] == Answer("e", None, "missing")


def test_help_is_shown_once(store: Store, wai: Questionnaire) -> None:
    interview = Interview(store, wai, C1)
    interview.handle("?")
    screen = interview.screen()
    assert isinstance(screen, ItemScreen)
    assert "s  skip this item" in screen.help
    assert any("two letters or more" in line for line in screen.help)
    interview.handle("5")
    assert interview.screen().help == ()


def test_review_lists_answers_and_a_number_jumps_back(store: Store, tiny: Questionnaire) -> None:
    interview = Interview(store, tiny, C1)
    for line in ("5", "4", "3", "2"):
        interview.handle(line)
    review = interview.screen()
    assert isinstance(review, ReviewScreen)
    assert [(r.number, r.item, r.answer) for r in review.rows] == [
        (1, "a", "5 Always"),
        (2, "b", "4 Often"),
        (3, "c", "3 Sometimes"),
        (4, "d", "2 Rarely"),
    ]
    interview.handle("?")
    assert interview.screen().help == REVIEW_HELP
    interview.handle("99")
    assert interview.screen().notices == (
        "Type an item number (1–4) to change its answer, Enter or y to submit, q to stop for now.",
    )
    interview.handle("2")
    screen = interview.screen()
    assert isinstance(screen, ItemScreen) and (screen.number, screen.current) == (2, "4 Often")
    interview.handle("r")  # Rarely; then straight back to the review
    review = interview.screen()
    assert isinstance(review, ReviewScreen) and review.rows[1].answer == "2 Rarely"
    interview.handle("3")
    interview.handle("")  # Enter keeps the answer and returns to the review
    assert interview.mode is Mode.review
    interview.handle("b")  # from the review, back to the last item
    assert interview.screen().number == 4  # type: ignore[union-attr]
    interview.handle("")
    interview.handle("y")
    assert interview.mode is Mode.submitted
    assert store.history("C-1")[0].answers[1].value == 2


# -- quitting, drafts and resuming -------------------------------------------------------


def test_quit_saves_a_draft_that_never_counts_as_history(store: Store, wai: Questionnaire) -> None:
    script = Script("5", "4", "s", "Q")
    assert administer(store, wai, C1, script) is Mode.left
    [left] = script.shown
    assert left == LeftScreen(
        done=3,
        total=12,
        saved=True,
        resume="alliance administer wai-sr --client C-1 --resume",
    )
    assert (store.count("draft"), store.count("final")) == (1, 0)
    assert store.history("C-1") == []
    assert store.history("C-1", include_void=True) == []
    assert [(c.code, c.administrations) for c in store.clients()] == [("C-1", 0)]
    assert store.audit() == []


def test_quit_before_any_answer_saves_nothing(store: Store, wai: Questionnaire) -> None:
    script = Script("q")
    administer(store, wai, Details(client="C-NEW", new_client=True), script)
    assert script.shown[0].saved is False  # type: ignore[attr-defined]
    # A new client is registered with the first answer, so not at all here.
    assert store.count("draft") == 0 and store.find_client("C-NEW") is None


def test_resume_continues_at_the_first_unanswered_item(store: Store, wai: Questionnaire) -> None:
    administer(store, wai, C1, Script("5", "s", "4", "q"))
    draft = drafts.find(store, "C-1", "wai-sr", "client")
    assert draft is not None
    script = Script(*WAI_ALL[3:], "")
    assert administer(store, wai, Details(client="C-1"), script, resume=True) is Mode.submitted
    assert script.asked[0].number == 4  # type: ignore[attr-defined]
    [final] = store.history("C-1")
    assert final.id == draft.id  # the same row, now final: nothing lost, nothing doubled
    assert values(store, final.id) == [5, None, 4, *map(float, WAI_ALL[3:])]
    assert final.administered_at == "2026-10-01"  # the draft's own details are kept
    assert (store.count("draft"), store.count("final")) == (0, 1)
    assert [a["action"] for a in store.audit()] == ["record"]


def test_resume_with_every_item_decided_opens_the_review(store: Store, tiny: Questionnaire) -> None:
    administer(store, tiny, C1, Script("5", "4", "3", "2", "q"))
    script = Script("")
    administer(store, tiny, C1, script, resume=True)
    assert isinstance(script.asked[0], ReviewScreen)
    assert store.count("final") == 1


def test_resume_replaces_the_details_given_again(store: Store, tiny: Questionnaire) -> None:
    administer(store, tiny, C1, Script("5", "q"))
    again = Details(client="C-1", clinician="K", modality="video", session=4)
    administer(store, tiny, again, Script("4", "3", "2", ""), resume=True)
    [final] = store.history("C-1")
    assert (final.clinician, final.modality, final.session, final.administered_at) == (
        "K",
        "video",
        4,
        "2026-10-01",
    )


def test_resume_without_a_draft_is_an_error(store: Store, wai: Questionnaire) -> None:
    with pytest.raises(StoreError) as caught:
        administer(store, wai, C1, Script(), resume=True)
    assert caught.value.exit_code == 7
    assert str(caught.value) == (
        "no draft of wai-sr (client) for C-1 to resume\n"
        "start one without --resume: alliance administer wai-sr --client C-1"
    )


def test_a_name_as_client_code_is_refused_before_any_question(
    store: Store, wai: Questionnaire
) -> None:
    script = Script("5")
    with pytest.raises(UsageError, match='client code "Jane Doe" is not allowed'):
        administer(store, wai, Details(client="Jane Doe"), script)
    with pytest.raises(UsageError, match="modality"):
        administer(store, wai, Details(client="C-1", modality="zoom"), script)
    assert script.asked == [] and [c.code for c in store.clients()] == ["C-1"]


def test_an_existing_draft_is_offered(store: Store, wai: Questionnaire) -> None:
    administer(store, wai, C1, Script("5", "4", "q"))
    script = Script("maybe", "y", "q")
    administer(store, wai, C1, script)
    offer, again, item = script.asked
    assert isinstance(offer, DraftOffer) and (offer.done, offer.total, offer.session) == (2, 12, 1)
    assert isinstance(again, DraftOffer) and again.notices
    assert isinstance(item, ItemScreen) and item.number == 3
    # q or Ctrl-C at the offer leave everything as it was
    script = Script("q")
    assert administer(store, wai, C1, script) is Mode.left
    assert script.shown == [
        LeftScreen(2, 12, True, "alliance administer wai-sr --client C-1 --resume")
    ]
    assert administer(store, wai, C1, Script(KeyboardInterrupt())) is Mode.interrupted
    assert store.count("draft") == 1


def test_declining_the_offer_discards_the_draft_and_starts_again(
    store: Store, wai: Questionnaire
) -> None:
    administer(store, wai, C1, Script("5", "4", "q"))
    script = Script("n", *WAI_ALL, "")
    assert administer(store, wai, C1, script) is Mode.submitted
    assert script.asked[1].number == 1  # type: ignore[attr-defined]
    assert (store.count("draft"), store.count("final")) == (0, 1)
    assert [a["action"] for a in store.audit()] == ["discard-draft", "record"]
    assert store.audit()[0]["reason"] == "draft #1 (wai-sr, session 1) discarded"


def test_ctrl_c_and_end_of_input_keep_the_draft(store: Store, wai: Questionnaire) -> None:
    script = Script("5", "4", KeyboardInterrupt())
    assert administer(store, wai, C1, script) is Mode.interrupted
    [left] = script.shown
    assert isinstance(left, LeftScreen) and left.interrupted and left.done == 2
    script = Script("y", "3")  # then the input ends
    assert administer(store, wai, C1, script) is Mode.left
    draft = drafts.find(store, "C-1", "wai-sr", "client")
    assert draft is not None and [a.value for a in draft.answers] == [5, 4, 3]


def test_the_resume_command_names_what_it_needs(store: Store, wai: Questionnaire) -> None:
    script = Script("5", "q")
    details = Details(client="C-1", respondent="observer")
    administer(store, wai, details, script, command_tail=["--db", "/my files/h.sqlite3"])
    assert script.shown[0].resume == (  # type: ignore[attr-defined]
        "alliance administer wai-sr --client C-1 --respondent observer --resume "
        "--db '/my files/h.sqlite3'"
    )


def test_answers_a_changed_definition_no_longer_allows_are_asked_again(
    store: Store, wai: Questionnaire
) -> None:
    administer(store, wai, C1, Script("5", "4", "q"))
    draft = drafts.find(store, "C-1", "wai-sr", "client")
    assert draft is not None
    drafts.put(store, draft.id, 0, Answer("1", 7.0, "answered"))  # as if the range shrank
    interview = Interview(store, wai, C1, draft=drafts.find(store, "C-1", "wai-sr", "client"))
    screen = interview.screen()
    assert isinstance(screen, ItemScreen) and screen.number == 1
    assert screen.notices == (
        "The wai-sr definition changed since this draft was started; 1 answer no longer "
        "allowed will be asked again.",
    )


def test_a_submitted_draft_cannot_be_written_again(store: Store, tiny: Questionnaire) -> None:
    administer(store, tiny, C1, Script("5", "4", "3", "2", ""))
    [final] = store.history("C-1")
    with pytest.raises(StoreError, match="no longer a draft"):
        drafts.put(store, final.id, 0, Answer("a", 1.0, "answered"))
    with pytest.raises(StoreError, match="no longer a draft"):
        drafts.submit(store, final.id, tiny.item_ids(), "1", tiny.content_hash())
    assert values(store, final.id) == [5, 4, 3, 2]


def test_a_new_session_number_ignores_drafts(store: Store, tiny: Questionnaire) -> None:
    administer(store, tiny, Details(client="C-1"), Script("5", "q"))
    saved = record(store, tiny, score(tiny, "5,5,5,5"), client="C-1")
    assert saved.session == 1  # the draft is not a session yet
    assert [a.session for a in store.history("C-1")] == [1]


# -- the terminal prompter and the command ---------------------------------------------------


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=100, no_color=True, highlight=False), buffer


def test_terminal_prompter_never_reads_markup_from_user_text(tiny: Questionnaire) -> None:
    console, buffer = _console()
    typed: list[str] = []
    prompter = TerminalPrompter(console, read=lambda p: typed.append(p) or "4")
    q = tiny.with_item_text({"a": "[bold]brackets[/] stay [x1]"})
    interview = Interview(registered(), q, C1)
    interview.handle("3")
    interview.handle("b")
    interview.handle("?")
    assert prompter.ask(interview.screen()) == "4"
    text = buffer.getvalue()
    assert "[bold]brackets[/] stay [x1]" in text
    assert "Item 1 of 4" in text
    assert " › 3  Sometimes" in text  # the current answer is marked by a character
    assert "Current answer: 3 Sometimes (Enter keeps it)" in text
    assert "  9  Does not apply" in text
    assert "\x1b[" not in text
    assert typed == ["Answer: "]


def test_terminal_prompter_visual_analogue_screen(catalog: Catalog) -> None:
    console, buffer = _console()
    prompter = TerminalPrompter(console, read=lambda p: "7.5")
    interview = Interview(registered(), catalog.get("srs"), C1)
    prompter.ask(interview.screen())
    text = buffer.getvalue()
    assert "0 = not at all   …   10 = completely" in text
    assert "Type a number 0–10 in steps of 0.1 (decimals allowed, such as 7.5)." in text
    assert "s skip" not in text


def test_command_refuses_without_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLIANCE_DB", str(tmp_path / "h.sqlite3"))
    assert CliRunner().invoke(app, ["new-client", "C-ABCDEF"]).exit_code == 0
    result = CliRunner().invoke(app, ["administer", "wai-sr", "--client", "c-abcdef"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: administer needs a terminal; standard input is not one\n"
        "To record answers from a file or a pipe: alliance score wai-sr --answers … "
        "--client C-ABCDEF\n"
    )
    # A mistyped code is named first, so the command suggested is one that would record.
    typo = CliRunner().invoke(app, ["administer", "wai-sr", "--client", "C-ABCDE"])
    assert typo.exit_code == 2
    assert typo.stderr.startswith("error: C-ABCDE is not a client. Did you mean C-ABCDEF?\n")


def test_command_help_has_an_example() -> None:
    result = CliRunner().invoke(app, ["administer", "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout and "alliance administer wai-sr" in result.stdout


def test_the_result_screen_shows_a_gap_the_therapist_form_completes(
    store: Store, catalog: Catalog
) -> None:
    # The client's WAI-SR falls to 3 at session 2 while the therapist's WAI-SR-T rises: the
    # gap (client − therapist) swings from +0.42 to −1.25, beyond 2 × 0.25 (the floor). The
    # therapist form recorded last completes it; its result screen shows what history shows.
    wai, wait = catalog.get("wai-sr"), catalog.get("wai-sr-t")
    record(store, wai, score(wai, "5,5,5,5,5,5,4,4,4,4,4,4"), client="C-1", session=1)
    record(store, wait, score(wait, "5,4,4,4,4,4,4,4,4,4,4,4"), client="C-1", session=1)
    record(store, wai, score(wai, "3,3,3,3,3,3,3,3,3,3,3,3"), client="C-1", session=2)
    script = Script("5", "5", "5", *["4"] * 9, "")
    details = Details(client="C-1", session=2, when="2026-10-01")
    assert administer(store, wait, details, script, find=catalog.get) is Mode.submitted
    [result] = [s for s in script.shown if isinstance(s, ResultScreen)]
    found = [(a.rule, a.session, a.kind) for a in result.alerts if a.rule == "divergence"]
    assert found == [("divergence", 2, "concern")]
