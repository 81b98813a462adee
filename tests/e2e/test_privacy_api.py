"""Privacy through HTTP: analyze, anonymize, policies, pseudonyms and reveals.

The in-process world (``tests/e2e/world.py``): tenant A's owner sets policies and
reveals; A's viewer may analyze and anonymize but not set a policy or reveal;
tenant B's pseudonyms are its own. Refusals are problem+json naming the field.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tests.e2e.world import World, open_world
from tests.support import assert_problem

EMAIL = "ada.lovelace@example.com"
CARD = "4111 1111 1111 1111"
TEXT = f"Contact {EMAIL} or pay with {CARD} today."


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for the module; built without the developer's PHANTOM_* settings."""
    home = tmp_path_factory.mktemp("privacy-api") / "home"
    with ExitStack() as stack:
        with pytest.MonkeyPatch.context() as patch:
            for name in list(os.environ):
                if name.startswith("PHANTOM_") and not name.startswith("PHANTOM_TEST_"):
                    patch.delenv(name)
            patch.setenv("PHANTOM_CONFIG", str(home.parent / "no-such-phantom.toml"))
            built = stack.enter_context(open_world(home, platform_admin_a=False))
        yield built


def post(world: World, path: str, body: object, key: str | None) -> Any:
    return world.call("POST", f"/v1/privacy/{path}", key=key, json=body)


def pseudonymize_emails(world: World, key: str) -> None:
    policy = {"operators": {"EMAIL": {"type": "pseudonymize", "length": 12}}}
    done = world.call("PUT", "/v1/privacy/policy", key=key, json=policy)
    assert done.status_code == 200, done.text


def test_status_lists_the_detectors_and_says_why_ner_is_off(world: World) -> None:
    status = world.call("GET", "/v1/privacy/status", key=world.viewer_a)
    assert status.status_code == 200, status.text
    body = status.json()
    assert {"EMAIL", "CREDIT_CARD", "IBAN", "US_SSN", "UK_NINO"} <= set(
        body["entities"]
    )
    assert "pseudonymize" in body["operators"]
    ner = body["ner"]
    assert ner["enabled"] is False
    assert ner["reason"].startswith("off:")


def test_analyze_finds_entities_without_echoing_them(world: World) -> None:
    found = post(world, "analyze", {"text": TEXT}, world.viewer_a)
    assert found.status_code == 200, found.text
    findings = found.json()["findings"]
    assert [f["entity"] for f in findings] == ["EMAIL", "CREDIT_CARD"]
    assert TEXT[findings[0]["start"] : findings[0]["end"]] == EMAIL
    assert EMAIL not in found.text
    assert CARD not in found.text


def test_anonymize_a_text_and_a_record_by_the_default_policy(world: World) -> None:
    text = post(world, "anonymize", {"text": TEXT}, world.viewer_a).json()
    assert text["text"] == "Contact <EMAIL> or pay with ***************1111 today."
    assert text["pseudonyms"] == 0
    record = {"customer": {"email": EMAIL, "age": 37}, "items": [{"note": CARD}]}
    done = post(world, "anonymize", {"record": record}, world.viewer_a).json()
    assert done["record"] == {
        "customer": {"email": "<EMAIL>", "age": 37},
        "items": [{"note": "***************1111"}],
    }
    assert [f["path"] for f in done["findings"]] == ["customer.email", "items[0].note"]


def test_a_policy_may_be_tried_without_being_stored(world: World) -> None:
    policy = {
        "fields": {"customer.age": {"type": "generalize", "bucket": 10}},
        "operators": {"EMAIL": {"type": "redact"}},
    }
    record = {"customer": {"email": EMAIL, "age": 37}}
    done = post(world, "anonymize", {"record": record, "policy": policy}, world.owner_a)
    assert done.status_code == 200, done.text
    assert done.json()["record"] == {"customer": {"email": "", "age": "30-39"}}
    stored = world.call("GET", "/v1/privacy/policy", key=world.owner_a).json()
    assert "customer.age" not in stored["document"]["fields"]


def test_pseudonyms_are_consistent_revealed_by_the_owner_and_audited(
    world: World,
) -> None:
    pseudonymize_emails(world, world.owner_a)
    first = post(world, "anonymize", {"text": TEXT}, world.owner_a).json()
    second = post(world, "anonymize", {"text": f"again: {EMAIL}"}, world.owner_a)
    token = first["text"].split()[1]
    assert token.startswith("<EMAIL_")
    assert token in second.json()["text"]
    assert first["pseudonyms"] == 1
    reveal = {"tokens": [token, "<EMAIL_000000000000>"], "reason": "ticket 42"}
    shown = post(world, "reveal", reveal, world.owner_a)
    assert shown.status_code == 200, shown.text
    assert shown.json()["values"] == {token: EMAIL, "<EMAIL_000000000000>": None}
    revealed = _events(world, "privacy.PseudonymsRevealed")
    assert revealed
    assert revealed[-1]["tokens"] == sorted(reveal["tokens"])
    assert revealed[-1]["reason"] == "ticket 42"
    assert EMAIL not in str(revealed)


def test_reveal_needs_the_permission_and_another_tenant_learns_nothing(
    world: World,
) -> None:
    pseudonymize_emails(world, world.owner_a)
    token = post(world, "anonymize", {"text": EMAIL}, world.owner_a).json()["text"]
    body = {"tokens": [token], "reason": "curious"}
    refused = post(world, "reveal", body, world.viewer_a)
    assert assert_problem(refused, 403)["permission"] == "privacy:reveal"
    pseudonymize_emails(world, world.owner_b)
    theirs = post(world, "anonymize", {"text": EMAIL}, world.owner_b).json()["text"]
    assert theirs != token  # per-tenant keys: unrelated tokens for the same value
    shown = post(world, "reveal", body, world.owner_b)
    assert shown.status_code == 200, shown.text
    assert shown.json()["values"] == {token: None}


def test_setting_a_policy_needs_privacy_write_and_is_versioned(world: World) -> None:
    policy = {"operators": {"PHONE": {"type": "mask", "keep_last": 2}}}
    refused = world.call("PUT", "/v1/privacy/policy", key=world.viewer_a, json=policy)
    assert_problem(refused, 403)
    before = world.call("GET", "/v1/privacy/policy", key=world.owner_a).json()
    done = world.call("PUT", "/v1/privacy/policy", key=world.owner_a, json=policy)
    assert done.status_code == 200, done.text
    after = done.json()
    assert after["revision"] == before["revision"] + 1
    assert after["is_default"] is False
    assert after["document"]["operators"]["PHONE"] == {
        "type": "mask",
        "char": "*",
        "keep_last": 2,
    }
    masked = post(world, "anonymize", {"text": "call +14155552671"}, world.owner_a)
    assert masked.json()["text"] == "call " + "*" * 10 + "71"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "x", "record": {"a": 1}}, "body"),
        ({}, "body"),
        ({"text": 5}, "text"),
        ({"text": "x", "policy": {"entities": ["NOPE"]}}, "entities"),
        ({"text": "x", "policy": {"operators": {"EMAIL": {"type": "shred"}}}}, "type"),
        (
            {"text": "x", "policy": {"patterns": [{"name": "BAD", "regex": "(a+)+"}]}},
            "patterns.BAD",
        ),
        (
            {"text": "x", "policy": {"fields": {"items[0].x": {"type": "skip"}}}},
            "fields",
        ),
        ({"text": "x", "unknown": 1}, "unknown"),
    ],
)
def test_bad_requests_are_422_naming_the_field(
    world: World, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(post(world, "analyze", body, world.owner_a), 422)
    assert field in str(problem), problem


def test_a_bad_policy_is_refused_and_the_stored_one_stays(world: World) -> None:
    before = world.call("GET", "/v1/privacy/policy", key=world.owner_a).json()
    bad = {"patterns": [{"name": "EMAIL", "regex": "x"}]}  # a built-in's name
    refused = world.call("PUT", "/v1/privacy/policy", key=world.owner_a, json=bad)
    assert_problem(refused, 422)
    after = world.call("GET", "/v1/privacy/policy", key=world.owner_a).json()
    assert after == before


def test_reveal_refuses_no_tokens_or_no_reason(world: World) -> None:
    for body in (
        {"tokens": [], "reason": "x"},
        {"tokens": ["<EMAIL_x>"], "reason": ""},
    ):
        assert_problem(post(world, "reveal", body, world.owner_a), 422)


def test_a_huge_text_is_refused_before_it_is_scanned(world: World) -> None:
    huge = {"text": "a" * 2_000_000}
    assert_problem(post(world, "analyze", huge, world.owner_a), 413)


def test_privacy_routes_need_credentials(world: World) -> None:
    assert_problem(post(world, "analyze", {"text": TEXT}, None), 401)


def _events(world: World, event_type: str) -> list[dict[str, Any]]:
    """The data of every stored event of ``event_type``, oldest first."""
    db = world.container.database("privacy")
    with db.system_engine.connect() as conn:
        envelopes = world.container.stores["privacy"].read_all(conn, limit=10_000)
    return [e.data for e in envelopes if e.type == event_type]
