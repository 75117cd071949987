"""The emulators' shared test controls: which calls an injected failure serves, and the movable clock.

Unit tests of shellenv.sandbox.control; the emulators' own tests check the answers over HTTP.
"""

from __future__ import annotations

import threading

from shellenv.sandbox.control import Fault, Faults, SandboxClock, parse_fault


def test_a_fault_serves_its_number_of_calls_then_is_gone() -> None:
    faults = Faults()
    assert faults.add(Fault("/api/2/saml_assertion", 503, times=2)) == 1

    assert faults.take("/api/2/saml_assertion").status == 503
    assert faults.take("/auth/oauth2/v2/token") is None
    assert faults.take("/api/2/saml_assertion").status == 503
    assert faults.take("/api/2/saml_assertion") is None


def test_keys_match_exactly_or_by_a_prefix_ending_in_a_star() -> None:
    assert Fault("*").matches("/anything")
    assert Fault("/api/*").matches("/api/1/saml_assertion")
    assert not Fault("/api/*").matches("/auth/oauth2/v2/token")
    assert Fault("ListAccounts").matches("ListAccounts")
    assert not Fault("ListAccounts").matches("ListAccountRoles")


def test_the_oldest_matching_fault_answers_first() -> None:
    faults = Faults()
    faults.add(Fault("ListAccounts", error="TooManyRequestsException"))
    faults.add(Fault("*", error="InternalServerException"))

    assert faults.take("ListAccounts").error == "TooManyRequestsException"
    assert faults.take("ListAccounts").error == "InternalServerException"
    assert faults.take("ListAccounts") is None


def test_a_fault_without_times_never_runs_out_until_cleared() -> None:
    faults = Faults()
    faults.add(Fault("*", 500, times=None))

    assert all(faults.take("/x") is not None for _ in range(5))
    faults.clear()
    assert faults.take("/x") is None


def test_the_delay_is_slept_through_the_given_sleep() -> None:
    slept: list[float] = []
    faults = Faults(sleep=slept.append)
    faults.add(Fault("*", None, delay=1.5))

    fault = faults.take("/slow")

    assert fault is not None and fault.status is None
    assert slept == [1.5]


def test_a_fail_body_is_read_with_its_defaults() -> None:
    assert parse_fault({}) == Fault("*", None, 1, 0.0, 30)
    assert parse_fault({}, default_status=500).status == 500
    assert parse_fault({"path": "/api/*", "status": "429", "times": None, "retry_after": 17}) == (
        Fault("/api/*", 429, None, 0.0, 17)
    )


def test_threads_share_out_exactly_the_fault_s_number_of_calls() -> None:
    faults = Faults()
    faults.add(Fault("*", 503, times=50))
    served: list[bool] = []

    def call() -> None:
        for _ in range(20):
            served.append(faults.take("/x") is not None)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert served.count(True) == 50


def test_the_clock_moves_by_an_offset_and_resets() -> None:
    clock = SandboxClock(lambda: 1000.0)

    assert clock.now() == clock() == 1000.0
    assert clock.advance(600) == 600.0
    assert clock() == 1600.0
    clock.reset()
    assert clock.now() == 1000.0
