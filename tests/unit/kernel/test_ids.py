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


def test_a_forked_child_never_repeats_the_parents_ids() -> None:
    import os

    uuid7()  # fill the parent's entropy buffer
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report one id and leave at once
        os.write(write, uuid7().bytes)
        os._exit(0)
    os.close(write)
    child = uuid.UUID(bytes=os.read(read, 16))
    os.close(read)
    os.waitpid(pid, 0)
    parent = uuid7()
    assert (child.int & ((1 << 62) - 1)) != (parent.int & ((1 << 62) - 1))
