from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from phantom.kernel.context import Actor
from phantom.kernel.events.envelope import Envelope, new_envelope
from phantom.kernel.events.sql import from_us, to_us

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=10), json_values, max_size=5))
def test_envelopes_survive_json(data: dict[str, object]) -> None:
    envelope = new_envelope(
        "registry.ModelRegistered",
        tenant_id="t",
        stream_id="m",
        data=data,
        actor=Actor("user", "u1", "api_key"),
        correlation_id="c",
    )
    assert Envelope.from_json(envelope.to_json()) == envelope
    assert envelope.context == "registry"


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    )
)
def test_microsecond_timestamps_round_trip(when: datetime) -> None:
    assert from_us(to_us(when)) == when
