import itertools

from phantom.privacy.domain import Finding, resolve_overlaps


def f(entity: str, start: int, end: int, score: float, detector: str = "d") -> Finding:
    return Finding(entity, start, end, score, detector)


def test_disjoint_findings_are_all_kept_in_order() -> None:
    findings = [f("B", 10, 12, 0.5), f("A", 0, 5, 0.9), f("C", 5, 10, 0.1)]
    assert resolve_overlaps(findings) == [findings[1], findings[2], findings[0]]


def test_the_higher_score_wins_an_overlap() -> None:
    low, high = f("PHONE", 0, 20, 0.7), f("CREDIT_CARD", 5, 10, 1.0)
    assert resolve_overlaps([low, high]) == [high]


def test_the_longer_span_wins_a_tie_on_score() -> None:
    short, long = f("IP_ADDRESS", 7, 14, 0.9), f("IP_ADDRESS", 0, 14, 0.9)
    assert resolve_overlaps([short, long]) == [long]


def test_a_full_tie_is_settled_by_position_then_names() -> None:
    first, second = f("A", 0, 5, 0.5), f("A", 3, 8, 0.5)
    assert resolve_overlaps([second, first]) == [first]
    a, b = f("A", 0, 5, 0.5), f("B", 0, 5, 0.5)
    assert resolve_overlaps([b, a]) == [a]


def test_the_result_does_not_depend_on_the_input_order() -> None:
    a, b, c = f("A", 0, 10, 0.5), f("B", 8, 20, 0.9), f("C", 18, 25, 0.5)
    d, e = f("D", 24, 30, 0.95), f("E", 40, 41, 0.1)
    results = {
        tuple(resolve_overlaps(order))
        for order in itertools.permutations([a, b, c, d, e])
    }
    assert results == {(b, d, e)}


def test_a_chain_of_overlaps_keeps_the_best_and_what_no_longer_collides() -> None:
    a, b, c = f("A", 0, 10, 0.5), f("B", 8, 20, 0.9), f("C", 18, 30, 0.5)
    assert resolve_overlaps([a, b, c]) == [b]
    a2, b2, c2 = f("A", 0, 10, 0.9), f("B", 8, 20, 0.5), f("C", 18, 30, 0.9)
    assert resolve_overlaps([a2, b2, c2]) == [a2, c2]


def test_touching_spans_do_not_overlap() -> None:
    left, right = f("A", 0, 5, 0.5), f("B", 5, 9, 0.9)
    assert resolve_overlaps([right, left]) == [left, right]
