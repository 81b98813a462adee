import copy

from phantom.privacy.domain import (
    CREDIT_CARD,
    EMAIL,
    IP_ADDRESS,
    PHONE,
    SKIP,
    Generalize,
    Hash,
    JsonValue,
    Mask,
    Policy,
    Pseudonymize,
    Redact,
    Replace,
    analyze_record,
    anonymize_record,
)

KEY = b"tenant-a-key-0123456789abcdef"


def obj(value: JsonValue) -> dict[str, JsonValue]:
    assert isinstance(value, dict)
    return value


def arr(value: JsonValue) -> list[JsonValue]:
    assert isinstance(value, list)
    return value


def record() -> dict[str, JsonValue]:
    return {
        "customer": {
            "name": "Jane Doe",
            "email": "jane@example.com",
            "phone": "+44 20 7946 0958",
            "age": 34,
            "born": "1990-04-12",
            "vip": True,
        },
        "items": [
            {"sku": "ORD-2024-004211", "note": "ship to 10.0.0.1", "qty": 2},
            {"sku": "ORD-2024-004212", "note": None, "qty": 1.5},
        ],
        "notes": "card 4111 1111 1111 1111, call 415-555-2671",
        "tags": ["vip", "jane@example.com", 7, False, None],
        "total": 99.5,
    }


def test_findings_carry_the_path_of_their_string() -> None:
    found = [(f.path, f.entity, f.start, f.end) for f in analyze_record(record())]
    assert found == [
        ("customer.email", EMAIL, 0, 16),
        ("customer.phone", PHONE, 0, 16),
        ("items[0].note", IP_ADDRESS, 8, 16),
        ("notes", CREDIT_CARD, 5, 24),
        ("notes", PHONE, 31, 43),
        ("tags[1]", EMAIL, 0, 16),
    ]


def test_strings_are_rewritten_and_everything_else_kept() -> None:
    original = record()
    kept = copy.deepcopy(original)
    result = anonymize_record(original, key=KEY).record
    assert original == kept
    expected = copy.deepcopy(original)
    customer = obj(expected["customer"])
    customer["email"] = "<EMAIL>"
    customer["phone"] = "<PHONE>"
    obj(arr(expected["items"])[0])["note"] = "ship to <IP_ADDRESS>"
    expected["notes"] = "card ***************1111, call <PHONE>"
    expected["tags"] = ["vip", "<EMAIL>", 7, False, None]
    assert result == expected


def test_a_skipped_field_is_neither_scanned_nor_changed() -> None:
    policy = Policy(fields={"notes": SKIP, "customer": SKIP})
    result = anonymize_record(record(), policy, key=KEY)
    assert obj(result.record)["notes"] == record()["notes"]
    assert obj(result.record)["customer"] == record()["customer"]
    assert {f.path for f in result.findings} == {"items[0].note", "tags[1]"}


def test_a_field_rule_applies_to_the_whole_value_with_the_field_as_entity() -> None:
    policy = Policy(
        fields={
            "customer.name": Pseudonymize(),
            "customer.email": Hash(length=10),
            "items.sku": Mask(keep_last=2),
            "customer.phone": Redact(),
            "total": Replace(),
        }
    )
    result = anonymize_record(record(), policy, key=KEY)
    customer = obj(obj(result.record)["customer"])
    assert str(customer["name"]).startswith("<NAME_")
    assert len(str(customer["email"])) == 10
    assert customer["phone"] is None
    items = arr(obj(result.record)["items"])
    assert [obj(item)["sku"] for item in items] == ["*" * 13 + "11", "*" * 13 + "12"]
    assert obj(result.record)["total"] == "<TOTAL>"
    assert [p.value for p in result.pseudonyms] == ["Jane Doe"]
    ruled = {(f.path, f.entity) for f in result.findings if f.detector == "field"}
    assert ruled == {
        ("customer.name", "NAME"),
        ("customer.email", "EMAIL"),
        ("customer.phone", "PHONE"),
        ("items[0].sku", "SKU"),
        ("items[1].sku", "SKU"),
        ("total", "TOTAL"),
    }


def test_generalize_turns_numbers_into_ranges_and_dates_into_months() -> None:
    policy = Policy(
        fields={
            "customer.age": Generalize(),
            "customer.born": Generalize(),
            "items.qty": Generalize(bucket=5),
            "customer.vip": Generalize(),
        }
    )
    result = anonymize_record(record(), policy, key=KEY)
    customer = obj(obj(result.record)["customer"])
    assert customer["age"] == "30-39"
    assert customer["born"] == "1990-04"
    assert customer["vip"] is True
    items = arr(obj(result.record)["items"])
    assert [obj(item)["qty"] for item in items] == ["0-4", "0-4"]


def test_numbers_are_left_alone_without_a_field_rule() -> None:
    result = anonymize_record({"age": 34, "score": 0.5, "ok": True}, key=KEY)
    assert result.record == {"age": 34, "score": 0.5, "ok": True}
    assert result.findings == ()


def test_generalize_on_text_that_is_no_date_or_number_scans_it_instead() -> None:
    policy = Policy(fields={"notes": Generalize()})
    result = anonymize_record({"notes": "mail jane@example.com"}, policy, key=KEY)
    assert result.record == {"notes": "mail <EMAIL>"}


def test_a_rule_on_a_container_covers_what_is_under_it_unless_overridden() -> None:
    policy = Policy(fields={"customer": Replace("x"), "customer.age": SKIP})
    result = anonymize_record(record(), policy, key=KEY)
    assert obj(result.record)["customer"] == {
        "name": "x",
        "email": "x",
        "phone": "x",
        "age": 34,
        "born": "x",
        "vip": True,
    }


def test_list_rules_ignore_positions() -> None:
    policy = Policy(fields={"tags": Redact()})
    result = anonymize_record(record(), policy, key=KEY)
    assert obj(result.record)["tags"] == [None, None, None, False, None]


def test_top_level_scalars_and_lists_are_records_too() -> None:
    assert anonymize_record("jane@example.com", key=KEY).record == "<EMAIL>"
    assert anonymize_record(["10.0.0.1", 3], key=KEY).record == ["<IP_ADDRESS>", 3]
    assert anonymize_record(None, key=KEY).record is None


def test_analysis_and_anonymization_report_the_same_findings() -> None:
    policy = Policy(fields={"customer.age": Generalize(), "notes": SKIP})
    assert list(anonymize_record(record(), policy, key=KEY).findings) == (
        analyze_record(record(), policy)
    )


def test_pseudonyms_from_a_record_are_consistent_with_free_text() -> None:
    policy = Policy(operators={EMAIL: Pseudonymize()})
    result = anonymize_record(record(), policy, key=KEY)
    customer = obj(obj(result.record)["customer"])
    assert customer["email"] == arr(obj(result.record)["tags"])[1]
    assert len(result.pseudonyms) == 1
