import pytest

from phantom.privacy.domain.validators import (
    digit_count,
    iban_valid,
    ipv4_valid,
    ipv6_valid,
    luhn_valid,
    nino_valid,
    shannon_entropy,
    ssn_valid,
)


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),
        ("4111 1111 1111 1111", True),
        ("378282246310005", True),
        ("79927398713", True),
        ("4111111111111112", False),
        ("79927398710", False),
        ("", False),
        ("----", False),
    ],
)
def test_luhn(number: str, *, valid: bool) -> None:
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("DE89370400440532013000", True),
        ("DE89 3704 0044 0532 0130 00", True),
        ("GB82WEST12345698765432", True),
        ("NO9386011117947", True),
        ("DE88370400440532013000", False),  # check digits
        ("DE8937040044053201300", False),  # length
        ("XX89370400440532013000", False),  # country
        ("gb82west12345698765432", False),  # lower case
        ("GB82WEST1234569876543²", False),
    ],
)
def test_iban(iban: str, *, valid: bool) -> None:
    assert iban_valid(iban) is valid


@pytest.mark.parametrize(
    ("ssn", "valid"),
    [
        ("123-45-6789", True),
        ("899-99-9999", True),
        ("000-45-6789", False),
        ("666-45-6789", False),
        ("900-45-6789", False),
        ("123-00-6789", False),
        ("123-45-0000", False),
        ("123-45-678", False),
    ],
)
def test_ssn(ssn: str, *, valid: bool) -> None:
    assert ssn_valid(ssn) is valid


@pytest.mark.parametrize(
    ("nino", "valid"),
    [
        ("AB123456C", True),
        ("JG103726D", True),
        ("DA123456A", False),
        ("AO123456A", False),
        ("GB123456A", False),
        ("TN123456A", False),
        ("ZZ123456A", False),
    ],
)
def test_nino(nino: str, *, valid: bool) -> None:
    assert nino_valid(nino) is valid


def test_ip_addresses() -> None:
    assert ipv4_valid("0.0.0.0")
    assert ipv4_valid("255.255.255.255")
    assert not ipv4_valid("256.0.0.1")
    assert not ipv4_valid("01.2.3.4")
    assert not ipv4_valid("1.2.3")
    assert ipv6_valid("2001:db8::1")
    assert ipv6_valid("::ffff:192.0.2.1")
    assert not ipv6_valid("::")
    assert not ipv6_valid("dead::beef")
    assert not ipv6_valid("00:1A:2B:3C:4D:5E")


def test_digit_count_and_entropy() -> None:
    assert digit_count("+44 (20) 7946-0958") == 12
    assert digit_count("٣") == 0
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == 2.0
