import pytest

from phantom.privacy.domain import (
    CREDIT_CARD,
    EMAIL,
    IBAN,
    IP_ADDRESS,
    PHONE,
    UK_NINO,
    US_SSN,
    Policy,
    analyze_text,
)


def found(text: str, policy: Policy | None = None) -> list[tuple[str, str]]:
    findings = analyze_text(text) if policy is None else analyze_text(text, policy)
    return [(f.entity, f.text(text)) for f in findings]


@pytest.mark.parametrize(
    ("value", "entity"),
    [
        ("jane.doe@example.com", EMAIL),
        ("j.doe+news@mail.example.co.uk", EMAIL),
        ("JANE_DOE@corp.io", EMAIL),
        ("+14155552671", PHONE),
        ("+44 20 7946 0958", PHONE),
        ("+1 (415) 555-2671", PHONE),
        ("+33 1 23 45 67 89", PHONE),
        ("(415) 555-2671", PHONE),
        ("415-555-2671", PHONE),
        ("415.555.2671", PHONE),
        ("020 7946 0958", PHONE),
        ("0161 496 0000", PHONE),
        ("07700 900123", PHONE),
        ("4111111111111111", CREDIT_CARD),
        ("4111 1111 1111 1111", CREDIT_CARD),
        ("4111-1111-1111-1111", CREDIT_CARD),
        ("5500 0000 0000 0004", CREDIT_CARD),
        ("3782 822463 10005", CREDIT_CARD),
        ("6011000990139424", CREDIT_CARD),
        ("2223000048400011", CREDIT_CARD),
        ("4222222222222", CREDIT_CARD),
        ("DE89370400440532013000", IBAN),
        ("DE89 3704 0044 0532 0130 00", IBAN),
        ("GB82 WEST 1234 5698 7654 32", IBAN),
        ("NO9386011117947", IBAN),
        ("FR14 2004 1010 0505 0001 3M02 606", IBAN),
        ("192.168.1.1", IP_ADDRESS),
        ("255.255.255.0", IP_ADDRESS),
        ("8.8.8.8", IP_ADDRESS),
        ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", IP_ADDRESS),
        ("2001:db8::1", IP_ADDRESS),
        ("::1", IP_ADDRESS),
        ("fe80::1ff:fe23:4567:890a", IP_ADDRESS),
        ("::ffff:192.0.2.128", IP_ADDRESS),
        ("123-45-6789", US_SSN),
        ("123 45 6789", US_SSN),
        ("AB123456C", UK_NINO),
        ("AB 12 34 56 C", UK_NINO),
        ("JG 10 37 26 D", UK_NINO),
    ],
)
def test_each_entity_is_found_in_a_sentence(value: str, entity: str) -> None:
    for text in (value, f"see {value} now", f"({value}).", f"x: {value}, y"):
        assert found(text) == [(entity, value)], text


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # Luhn-invalid
        "4111111111111112",
        "1234567890123456",
        "20240315103211",  # a compact timestamp
        "1718028337123",  # epoch milliseconds
        "DE88 3704 0044 0532 0130 00",  # wrong check digits
        "DE89370400440532013001",
        "XX89370400440532013000",  # no such country
        "256.1.1.1",
        "999.1.1.1",
        "10.0.0.256",
        "1.2.3.4.5",
        "192.168.01.1",
        "v2.14.3",
        "000-12-3456",
        "666-12-3456",
        "912-34-5678",
        "123-00-4567",
        "123-45-0000",
        "QQ123456C",  # Q is never a first letter
        "BG123456A",  # an unallocated prefix
        "AB123456E",  # the suffix is A-D
        "2024-03-15T10:32:11Z",
        "at 10:32:11 on 15/03/2024",
        "550e8400-e29b-41d4-a716-446655440000",
        "00:1A:2B:3C:4D:5E",
        "dead::beef",
        "std::vector<int>",
        "ORD-2024-004211",
        "$1,234.56 and 12.5%",
        "user@localhost",
        "@mention in a chat",
        "call 555-0100",
        "415 555 26710",
    ],
)
def test_look_alikes_are_not_reported(text: str) -> None:
    assert found(text) == []


def test_a_card_number_inside_a_longer_digit_run_is_not_reported() -> None:
    assert found("id 44111111111111111") == []
    assert found("id 41111111111111110000") == []


def test_groups_of_an_invalid_iban_are_not_read_as_cards_or_phones() -> None:
    assert found("IT00 X054 2811 1010 0000 0123 456") == []
    assert found("GB13 IZGE 4641 9655 7848 64") == []


def test_an_iban_followed_by_a_word_in_capitals_keeps_its_length() -> None:
    text = "IBAN DE89 3704 0044 0532 0130 00 ABCD please"
    assert found(text) == [(IBAN, "DE89 3704 0044 0532 0130 00")]


def test_an_email_local_part_does_not_start_with_a_dot() -> None:
    assert found("see .jane@example.com") == [(EMAIL, "jane@example.com")]


def test_an_email_with_a_local_part_over_64_characters_is_refused() -> None:
    assert found("a" * 65 + "@example.com") == []
    assert found("a" * 64 + "@example.com") == [(EMAIL, "a" * 64 + "@example.com")]


def test_a_sentence_ending_after_an_address_keeps_the_full_stop_out() -> None:
    text = "Login from 10.0.0.1. Then from 2001:db8::7."
    assert found(text) == [(IP_ADDRESS, "10.0.0.1"), (IP_ADDRESS, "2001:db8::7")]


def test_a_text_with_many_entities_reports_them_in_order() -> None:
    text = (
        "Mail jane@example.com or call (415) 555-2671; card 4111 1111 1111 1111, "
        "IBAN GB82WEST12345698765432, host 10.1.2.3, SSN 123-45-6789."
    )
    assert [entity for entity, _ in found(text)] == [
        EMAIL,
        PHONE,
        CREDIT_CARD,
        IBAN,
        IP_ADDRESS,
        US_SSN,
    ]


def test_only_enabled_entity_types_are_reported() -> None:
    policy = Policy(entities=frozenset({EMAIL}))
    text = "jane@example.com 4111 1111 1111 1111 10.0.0.1"
    assert found(text, policy) == [(EMAIL, "jane@example.com")]


def test_a_disabled_entity_type_leaves_room_for_the_others() -> None:
    policy = Policy(entities=frozenset({PHONE}))
    assert found("call 415-555-2671", policy) == [(PHONE, "415-555-2671")]
    assert found("4111 1111 1111 1111", policy) == []


def test_offsets_point_into_the_scanned_text() -> None:
    text = "Écrivez à jane@example.com — merci"
    (finding,) = analyze_text(text)
    assert text[finding.start : finding.end] == "jane@example.com"
    assert finding.path is None
    assert 0 < finding.score <= 1


def test_empty_and_whitespace_texts_have_no_findings() -> None:
    assert found("") == []
    assert found(" \n\t ") == []


def test_an_ipv6_address_after_a_label_is_found_but_not_one_inside_a_word() -> None:
    assert found("ip:fe80::1 x") == [(IP_ADDRESS, "fe80::1")]
    assert found("IPv6:2001:db8::1") == [(IP_ADDRESS, "2001:db8::1")]
    assert found("abc2001:db8::1") == []
    assert found("2001:db8:0:0:1:0:0:1:5") == []
