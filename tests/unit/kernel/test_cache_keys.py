"""Cache keys: injective rendering, tenant prefixes, glob safety."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phantom.kernel.cache.keys import (
    MAX_COMPONENT_CHARS,
    CacheKey,
    cache_key,
    check_prefix,
    escape_component,
    tenant_prefix,
)
from phantom.kernel.errors import ConfigError, InvalidInput

PREFIX = "phantom"
# Every code point, lone surrogates included, with the separators and glob
# characters made frequent.
_chars = st.one_of(
    st.sampled_from(list(":*?[]\\%~ \n\x00_.-aA")),
    st.characters(exclude_categories=()),
)
texts = st.text(_chars, max_size=12) | st.text(_chars, min_size=190, max_size=260)
names = texts.filter(bool)
key_args = st.tuples(names, names, st.lists(texts, max_size=4).map(tuple))
_RENDERED = re.compile(r"[A-Za-z0-9_.%~:-]+")


def _key(args: tuple[str, str, tuple[str, ...]]) -> CacheKey:
    tenant, namespace, parts = args
    return cache_key(tenant, namespace, *parts)


@given(key_args, key_args)
def test_distinct_arguments_render_distinct_keys(
    first: tuple[str, str, tuple[str, ...]],
    second: tuple[str, str, tuple[str, ...]],
) -> None:
    same_args = first == second
    same_render = _key(first).render(PREFIX) == _key(second).render(PREFIX)
    assert same_args == same_render


@given(key_args, names)
def test_a_key_starts_with_its_tenants_prefix_and_no_other(
    args: tuple[str, str, tuple[str, ...]], other_tenant: str
) -> None:
    rendered = _key(args).render(PREFIX)
    assert rendered.startswith(tenant_prefix(PREFIX, args[0]))
    starts_with_other = rendered.startswith(tenant_prefix(PREFIX, other_tenant))
    assert starts_with_other == (other_tenant == args[0])


@given(key_args)
def test_rendered_keys_hold_no_glob_or_control_characters(
    args: tuple[str, str, tuple[str, ...]],
) -> None:
    assert _RENDERED.fullmatch(_key(args).render(PREFIX))
    assert _RENDERED.fullmatch(tenant_prefix(PREFIX, args[0]))


@given(texts)
def test_escaped_components_are_short_and_separator_free(text: str) -> None:
    escaped = escape_component(text)
    assert len(escaped) <= MAX_COMPONENT_CHARS
    assert ":" not in escaped


def test_key_renders_with_prefix_tenant_namespace_and_parts() -> None:
    key = cache_key("acme", "serving.predictions", "model 1", "v:2")
    assert key.render("phantom") == "phantom:t:acme:serving.predictions:model%201:v%3A2"
    assert tenant_prefix("phantom", "acme") == "phantom:t:acme:"


def test_long_components_are_hashed() -> None:
    rendered = cache_key("t", "ns", "x" * 10_000).render("p")
    assert rendered.startswith("p:t:t:ns:~")
    assert len(rendered) < 100


def test_keys_are_equal_by_value() -> None:
    assert cache_key("t", "ns", "a") == cache_key("t", "ns", "a")
    assert hash(cache_key("t", "ns", "a")) == hash(cache_key("t", "ns", "a"))
    assert cache_key("t", "ns", "a") != cache_key("t", "ns", "b")


@pytest.mark.parametrize(
    ("tenant", "namespace"), [("", "ns"), ("t", ""), (None, "ns"), ("t", 3)]
)
def test_empty_or_non_text_tenant_or_namespace_is_invalid_input(
    tenant: object, namespace: object
) -> None:
    with pytest.raises(InvalidInput):
        cache_key(tenant, namespace, "k")  # type: ignore[arg-type]


def test_non_text_parts_are_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        cache_key("t", "ns", 1)  # type: ignore[arg-type]


def test_empty_tenant_has_no_prefix() -> None:
    with pytest.raises(InvalidInput):
        tenant_prefix(PREFIX, "")


@pytest.mark.parametrize("prefix", ["", "a*", "a:b", "a b", "x" * 65, "é"])
def test_unsafe_prefixes_are_config_errors(prefix: str) -> None:
    with pytest.raises(ConfigError):
        check_prefix(prefix)
