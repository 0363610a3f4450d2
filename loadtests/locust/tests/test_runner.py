"""The runner's choices that need no server: scenarios, arguments, the Locust command line."""

from pathlib import Path

import pytest

from loadtests.locust.options import ReportPaths, locust_run, parse_args, scenario_from
from loadtests.locust.process import LOCUSTFILE


def test_the_default_is_the_issue_flash_crowd_of_2000_patients_on_100_seats():
    scenario = scenario_from(parse_args([]))

    assert (scenario.name, scenario.users, scenario.seats, scenario.slots) == (
        "flash",
        2000,
        100,
        1,
    )


def test_churn_defaults_to_500_patients_on_5_slots_of_100_seats_for_60_seconds():
    scenario = scenario_from(parse_args(["--scenario", "churn"]))

    assert (scenario.users, scenario.slots, scenario.seats, scenario.seconds) == (500, 5, 100, 60)


def test_a_flash_crowd_always_targets_exactly_one_slot():
    assert scenario_from(parse_args(["--slots", "4", "--users", "50"])).slots == 1


@pytest.mark.parametrize("argument", ["--users=0", "--seats=-1", "--spawn-seconds=0"])
def test_counts_must_be_positive(argument, capsys):
    with pytest.raises(SystemExit):
        parse_args([argument])
    assert "must be positive" in capsys.readouterr().err


def test_the_flash_crowd_spawns_everyone_within_the_spawn_window_and_quits_when_all_answered():
    options = parse_args(["--users", "600", "--spawn-seconds", "3", "--timeout", "50"])
    scenario = scenario_from(options)
    paths = ReportPaths(Path("/reports/flash-1"))

    run = locust_run(scenario, options, "http://127.0.0.1:8100", [42], paths)
    command = run.command()

    assert command[command.index("-f") + 1] == str(LOCUSTFILE)
    assert command[command.index("--spawn-rate") + 1] == "200"
    assert command[command.index("--run-time") + 1] == "54s"  # a bound, not the expected length
    assert command[command.index("--slot-ids") + 1] == "42"
    assert command[command.index("--html") + 1] == "/reports/flash-1.html"
    assert command[command.index("--results-file") + 1] == "/reports/flash-1-results.json"
    assert "--quit-when-done" in command
    assert command[-1] == "FlashCrowdPatient"


def test_browsing_runs_for_its_duration_instead_of_quitting_early():
    options = parse_args(["--scenario", "browse", "--seconds", "10"])
    paths = ReportPaths(Path("/reports/browse-1"))

    command = locust_run(scenario_from(options), options, "http://h", [1, 2], paths).command()

    assert "--quit-when-done" not in command
    assert command[command.index("--run-time") + 1] == "16s"
    assert command[-1] == "BrowsingPatient"


def test_the_waitlist_crowd_runs_its_own_locustfile_on_one_slot():
    options = parse_args(["--scenario", "waitlist", "--slots", "3"])
    scenario = scenario_from(options)
    paths = ReportPaths(Path("/reports/waitlist-1"))

    command = locust_run(scenario, options, "http://h", [5], paths).command()

    assert (scenario.users, scenario.seats, scenario.slots) == (300, 50, 1)
    assert command[command.index("-f") + 1] == str(LOCUSTFILE.with_name("waitlist_locustfile.py"))
    assert command[-1] == "WaitlistPatient"
    assert "--quit-when-done" in command
