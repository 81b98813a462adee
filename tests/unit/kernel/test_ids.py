import time
import uuid

from hypothesis import given
from hypothesis import strategies as st

from phantom.kernel.ids import new_id, uuid7, uuid7_time_ms


def test_uuid7_has_version_7_and_the_rfc_variant() -> None:
    value = uuid7()
    assert value.version == 7
    assert value.variant == uuid.RFC_4122


def test_uuid7_embeds_the_current_time() -> None:
    before = time.time_ns() // 1_000_000
    value = new_id()
    after = time.time_ns() // 1_000_000
    assert before <= uuid7_time_ms(value) <= after + 1


def test_uuid7s_made_in_a_burst_sort_in_creation_order() -> None:
    values = [uuid7() for _ in range(10_000)]
    assert values == sorted(values)
    assert len(set(values)) == len(values)


@given(st.integers(min_value=1, max_value=50))
def test_uuid7_strings_sort_like_the_ids(n: int) -> None:
    values = [uuid7() for _ in range(n)]
    assert sorted(str(v) for v in values) == [str(v) for v in values]
