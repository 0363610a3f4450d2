"""The responses-per-second-by-status chart written beside Locust's report."""

from collections import Counter

from loadtests.locust.chart import status_rates, write_status_chart
from loadtests.locust.results import RunResults


def results_over(timeline: dict[int, Counter], *, unexpected=None) -> RunResults:
    answers = sum(timeline.values(), Counter())
    return RunResults(
        answers=answers,
        unexpected=Counter(unexpected or {}),
        latencies_ms={},
        timeline=timeline,
        bucket_seconds=0.1,
    )


def test_a_short_run_is_charted_in_tenths_of_a_second_as_a_rate_per_second():
    results = results_over(
        {0: Counter({"book 201 CONFIRMED": 3}), 2: Counter({"book 409 slot_full": 5})}
    )

    step, rates = status_rates(results)

    assert step == 0.1
    assert rates == {
        "book 201 CONFIRMED": [30.0, 0.0, 0.0, 0.0],
        "book 409 slot_full": [0.0, 0.0, 50.0, 0.0],
    }


def test_a_long_run_is_charted_per_whole_second():
    timeline = {tenth: Counter({"cancel 200 CANCELLED": 1}) for tenth in range(0, 300)}

    step, rates = status_rates(results_over(timeline))

    assert step == 1.0
    assert rates["cancel 200 CANCELLED"][:30] == [10.0] * 30


def test_the_page_draws_one_line_per_answer_with_unexpected_answers_in_red(tmp_path):
    results = results_over(
        {
            0: Counter({"book 201 CONFIRMED": 2, "book 503 busy": 1}),
            1: Counter({"book 409 slot_full": 4}),
        },
        unexpected={"book 503 busy": 1},
    )

    page = write_status_chart(
        results, tmp_path / "chart.html", title="flash <test>", summary="flash-crowd: users=7"
    ).read_text()

    assert page.count("<polyline") == 3
    assert '<polyline fill="none" stroke-width="2" stroke="#d73027"' in page
    assert "<title>book 503 busy</title>" in page
    assert "flash &lt;test&gt;" in page
    assert "<td>book 409 slot_full</td><td>4</td><td>40</td>" in page
