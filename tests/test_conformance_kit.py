"""The conformance kit fails on broken adapters that their authors' own tests pass.

Each test runs a part of the kit, in process, against one broken variant of the memo
test plugin (``memo_plugin.broken``) registered on a registry of its own, and checks
by name which of the part's tests fail: those that catch the mistake, and no other.
A plugin author opts into parts the same way; a correct variant passes the whole kit.
"""

from __future__ import annotations

import pytest

import broken_events
import memo_plugin.broken
import memo_plugin.paused
import memo_plugin.vault
import runbridge.testing.conformance

pytest_plugins = ["pytester"]

LOADED = (
    broken_events,
    memo_plugin.broken,
    memo_plugin.paused,
    memo_plugin.vault,
    runbridge.testing.conformance,
)
"""What inner runs import, loaded once here: an inner run forgets the modules it loads."""

INNER = """
from memo_plugin import broken
from runbridge.testing.conformance import {part}


class TestKit({part}):
    provider = "memo"
    registry = broken.registry_of(broken.{variant})
    time_limit = {time_limit}
"""

INNER_EVENTS = """
import broken_events
from memo_plugin.broken import registry_of
from runbridge.testing.conformance import EventConformance


class TestKit(EventConformance):
    provider = "runflow"
    registry = registry_of(broken_events.{variant})
"""

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""

OPTIONS = ("-rf", "-p", "no:randomly", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")
"""Options of the inner runs: failures summarised by name; no plugin they do not need."""


def run_kit(
    pytester: pytest.Pytester, variant: str, part: str, *, time_limit: float = 5.0
) -> pytest.RunResult:
    """The outcome of the kit's ``part`` against the variant ``variant``."""
    pytester.makeini(INI)
    inner = INNER.format(variant=variant, part=part, time_limit=time_limit)
    pytester.makepyfile(test_kit=inner)
    return pytester.runpytest_inprocess(*OPTIONS)


def run_event_kit(pytester: pytest.Pytester, variant: str) -> pytest.RunResult:
    """The outcome of ``EventConformance`` against the Runflow variant ``variant``."""
    pytester.makeini(INI)
    pytester.makepyfile(test_kit=INNER_EVENTS.format(variant=variant))
    return pytester.runpytest_inprocess(*OPTIONS)


def assert_failed(result: pytest.RunResult, *names: str) -> None:
    """Exactly the kit's tests ``names`` failed; every other passed or was skipped."""
    outcomes = result.parseoutcomes()
    assert "errors" not in outcomes and "error" not in outcomes, result.stdout.str()
    assert outcomes.get("failed", 0) == len(names), result.stdout.str()
    for name in names:
        result.stdout.re_match_lines([rf"FAILED test_kit\.py::TestKit::{name}( - .*)?$"])


def test_a_status_read_otherwise_than_declared_fails_the_status_check(
    pytester: pytest.Pytester,
) -> None:
    # EXPIRED is declared a timeout failure but read as cancelled; no emulator run
    # ever reaches it unless the kit forces it.
    result = run_kit(pytester, "MisreadStatus", "StatusConformance")
    assert_failed(result, "test_every_declared_status_reads_as_declared")
    result.stdout.fnmatch_lines(["*'EXPIRED': reads as cancelled, declared failed*"])


def test_a_status_declared_against_the_docs_fails_the_documented_check(
    pytester: pytest.Pytester,
) -> None:
    result = run_kit(pytester, "MisdeclaredStatus", "StatusConformance")
    assert_failed(result, "test_documented_statuses_are_declared_as_documented")
    result.stdout.fnmatch_lines(["*'TIMEOUT' is documented as failed, declared cancelled*"])


def test_a_status_the_emulator_never_produces_is_still_checked_against_the_docs(
    pytester: pytest.Pytester,
) -> None:
    result = run_kit(pytester, "MisreadExtraStatus", "StatusConformance")
    assert_failed(result, "test_documented_statuses_are_declared_as_documented")
    result.stdout.fnmatch_lines(["*'PAUSED' is documented as running, declared pending*"])


def test_a_page_number_cursor_fails_the_resume_with_another_page_size(
    pytester: pytest.Pytester,
) -> None:
    result = run_kit(pytester, "PageNumbers", "ListConformance")
    assert_failed(result, "test_list_resumes_with_another_page_size")


def test_a_cursor_that_never_advances_fails_quickly_instead_of_hanging(
    pytester: pytest.Pytester,
) -> None:
    result = run_kit(pytester, "StuckCursor", "ListConformance", time_limit=20.0)
    assert_failed(
        result,
        "test_list_walks_every_page_once",
        "test_list_resumes_from_a_cursor",
        "test_list_resumes_with_another_page_size",
    )
    result.stdout.fnmatch_lines(["*ResponseError: memo.list: *"])
    result.stdout.no_fnmatch_line("*time limit*")


def test_secrets_dropped_by_an_adapter_that_takes_them_fail_the_secrets_check(
    pytester: pytest.Pytester,
) -> None:
    result = run_kit(pytester, "DroppedSecrets", "CreateConformance")
    assert_failed(result, "test_secrets_reach_the_provider_masked_in_its_log")


def test_secrets_sent_and_kept_pass_the_whole_kit(pytester: pytest.Pytester) -> None:
    result = run_kit(pytester, "KeptSecrets", "AdapterConformance")
    assert_failed(result)
    assert result.parseoutcomes()["passed"] > 30


def test_a_parse_error_that_ignores_the_body_fails_the_error_checks(
    pytester: pytest.Pytester,
) -> None:
    result = run_kit(pytester, "IgnoredErrorBody", "ErrorConformance")
    assert_failed(
        result,
        "test_declared_errors_are_typed_from_the_body",
        "test_error_messages_come_from_the_body",
    )
    result.stdout.fnmatch_lines(["*HTTP 404: the body's message is not in *"])


def test_a_lost_create_sent_again_fails_the_exactly_once_checks(
    pytester: pytest.Pytester,
) -> None:
    result = run_kit(pytester, "LostCreateRetried", "ExactlyOnceConformance")
    assert_failed(
        result,
        "test_lost_creates_make_one_run_each",
        "test_lost_batch_creates_make_one_run_each",
    )
    result.stdout.fnmatch_lines(["*3 creates whose answers were lost left 6 runs*"])


def test_a_hanging_operation_fails_its_test_on_the_time_limit(pytester: pytest.Pytester) -> None:
    result = run_kit(pytester, "HangingCancel", "WriteConformance", time_limit=2.0)
    assert_failed(result, "test_cancel_a_pending_run")
    result.stdout.fnmatch_lines(
        [
            "*TestKit.test_cancel_a_pending_run did not finish within the kit's "
            "time limit of 2 s (time_limit)*"
        ]
    )


def test_an_adapter_that_trusts_any_signature_fails_the_event_checks(
    pytester: pytest.Pytester,
) -> None:
    result = run_event_kit(pytester, "TrustingRunflow")
    assert_failed(result, "test_a_tampered_foreign_or_oversized_delivery_is_rejected")
    result.stdout.fnmatch_lines(["*accepted deliveries tampered, signed with another secret*"])


def test_an_adapter_that_misreads_the_event_s_run_fails_the_event_checks(
    pytester: pytest.Pytester,
) -> None:
    result = run_event_kit(pytester, "MisreadEventRun")
    assert_failed(result, "test_a_delivery_reads_as_the_run_it_announces")
