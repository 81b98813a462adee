import pytest

from phantom.privacy.domain import SECRET, analyze_text

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
RANDOM_40 = "9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a"


def secrets_in(text: str) -> list[tuple[str, str]]:
    return [
        (f.detector, f.text(text)) for f in analyze_text(text) if f.entity == SECRET
    ]


@pytest.mark.parametrize(
    ("text", "detector", "secret"),
    [
        ("key AKIAIOSFODNN7EXAMPLE here", "aws_access_key", "AKIAIOSFODNN7EXAMPLE"),
        ("ASIAY34FZKBOKMUTVV7A", "aws_access_key", "ASIAY34FZKBOKMUTVV7A"),
        (f"t=ghp_{'a1B2' * 9}", "github_token", f"ghp_{'a1B2' * 9}"),
        (f"gho_{'Z9y8' * 9}.", "github_token", f"gho_{'Z9y8' * 9}"),
        (
            f"github_pat_11ABCDEFG0123456789abc_{'x1' * 20}",
            "github_pat",
            f"github_pat_11ABCDEFG0123456789abc_{'x1' * 20}",
        ),
        (
            "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "slack_token",
            "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        ),
        (
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "stripe_key",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        ),
        ("pk_live_51H8abcdefGHIJKLmnop", "stripe_key", "pk_live_51H8abcdefGHIJKLmnop"),
        (f"session {JWT} expired", "jwt", JWT),
        (
            "Authorization: Bearer abcDEF123456ghiJKL789_-.",
            "bearer",
            "abcDEF123456ghiJKL789_-",
        ),
        (f"api_key={RANDOM_40}", "assigned", RANDOM_40),
        (f'{{"client_secret": "{RANDOM_40}"}}', "assigned", RANDOM_40),
        (f"PASSWORD = '{RANDOM_40}'", "assigned", RANDOM_40),
        (f"AWS_SECRET_ACCESS_KEY={RANDOM_40}.", "assigned", RANDOM_40),
    ],
)
def test_credentials_are_found(text: str, detector: str, secret: str) -> None:
    assert secrets_in(text) == [(detector, secret)]


def test_a_bearer_jwt_is_reported_once_as_a_jwt() -> None:
    assert secrets_in(f"Authorization: Bearer {JWT}") == [("jwt", JWT)]


def test_a_vendor_token_assigned_to_a_name_is_reported_once_by_its_vendor() -> None:
    token = f"ghp_{'a1B2' * 9}"
    assert secrets_in(f"GITHUB_TOKEN={token}") == [("github_token", token)]


@pytest.mark.parametrize(
    "text",
    [
        "ASIA-PACIFIC sales",
        "AKIA1234",  # too short
        "xAKIAIOSFODNN7EXAMPLE",  # inside a word
        "ghp_short",
        "the bearer of bad news was an unusually long messenger",
        "Bearer tokenization-strategies-explained",  # no digit
        "token=" + "a" * 40,  # no entropy
        "api_key=short123",
        "url=" + RANDOM_40,  # not a secret-sounding name
        "commit " + RANDOM_40,
        "auth_url: https://login.example.com/oauth2/v1/authorize?x=1",
        "eyJhbGciOiJIUzI1NiJ9 alone",  # one segment is not a JWT
        "risk_test_environment",
    ],
)
def test_non_credentials_are_not_reported(text: str) -> None:
    assert secrets_in(text) == []
