import pytest

from phantom.kernel import errors
from phantom.kernel.errors import (
    Conflict,
    NotFound,
    PhantomError,
    VersionConflict,
    problem_body,
)


def test_problem_body_follows_rfc_9457() -> None:
    body = problem_body(
        VersionConflict("stream is at 3", current_version=3),
        instance="/v1/x",
        request_id="r1",
    )
    assert body == {
        "type": "https://phantom.dev/problems/version-conflict",
        "title": "Version conflict",
        "status": 409,
        "detail": "stream is at 3",
        "code": "version-conflict",
        "instance": "/v1/x",
        "request_id": "r1",
        "current_version": 3,
    }


def test_extra_members_never_override_the_standard_ones() -> None:
    body = problem_body(NotFound("gone", status=200, title="x"))
    assert body["status"] == 404
    assert body["title"] == "Not found"


def test_detail_defaults_to_the_title() -> None:
    assert str(Conflict()) == "Conflict"


@pytest.mark.parametrize("name", errors.__all__)
def test_every_error_has_a_distinct_code_and_a_4xx_or_5xx_status(name: str) -> None:
    cls = getattr(errors, name)
    if not isinstance(cls, type):
        return
    assert issubclass(cls, PhantomError)
    assert 400 <= cls.status <= 599
    codes = [
        c.code
        for n in errors.__all__
        if isinstance(c := getattr(errors, n), type) and issubclass(c, PhantomError)
    ]
    assert codes.count(cls.code) == 1
