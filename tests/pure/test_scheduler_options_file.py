"""The options file: reloaded on change, Havana aliases, and a broken file keeps the last good options."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from novalog.scheduler.options import SchedulerOptions
from novalog.scheduler.options_file import OptionsError, OptionsFile, parse_options


def write(path: Path, content: str, bump: int) -> None:
    path.write_text(content)
    # make the change visible even within one mtime tick
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))


def test_the_file_is_reloaded_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "options.json"
    write(path, json.dumps({"host_subset_size": 3, "enabled_filters": ["ComputeFilter"]}), 1)
    watched = OptionsFile(path)
    assert watched.current() == SchedulerOptions(host_subset_size=3, enabled_filters=("ComputeFilter",))
    write(path, json.dumps({"host_subset_size": 5}), 2)
    assert watched.current() == SchedulerOptions(host_subset_size=5)


def test_a_broken_file_keeps_the_last_good_options_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "options.json"
    write(path, json.dumps({"ram_weight_multiplier": -1.0}), 1)
    watched = OptionsFile(path)
    good = watched.current()
    write(path, "{not json", 2)
    assert watched.current() == good
    assert watched.last_error is not None and "options.json" in watched.last_error
    write(path, json.dumps({"enabled_filters": ["NoSuchFilter"]}), 3)
    assert watched.current() == good
    assert "NoSuchFilter" in watched.last_error
    write(path, json.dumps({"ram_weight_multiplier": 2.0}), 4)
    assert watched.current().ram_weight_multiplier == 2.0 and watched.last_error is None


def test_a_missing_file_means_the_defaults(tmp_path: Path) -> None:
    assert OptionsFile(tmp_path / "absent.json").current() == SchedulerOptions()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param({"scheduler_default_filters": ["RamFilter"]}, SchedulerOptions(enabled_filters=("RamFilter",)), id="havana-filters"),
        pytest.param({"scheduler_host_subset_size": 2}, SchedulerOptions(host_subset_size=2), id="havana-subset"),
        pytest.param({"scheduler_max_attempts": 5}, SchedulerOptions(max_attempts=5), id="havana-attempts"),
        pytest.param({"weight_classes": ["CPUWeigher"]}, SchedulerOptions(weight_classes=("CPUWeigher",)), id="modern-weighers"),
    ],
)
def test_names_old_and_new(raw: dict, expected: SchedulerOptions) -> None:
    assert parse_options(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param({"no_such_option": 1}, "unknown option 'no_such_option'", id="unknown-key"),
        pytest.param({"host_subset_size": 0}, "host_subset_size must be at least 1", id="bad-value"),
        pytest.param([1, 2], "JSON object", id="not-an-object"),
    ],
)
def test_bad_options_are_refused_with_a_clear_error(raw, message: str) -> None:
    with pytest.raises(OptionsError, match=message):
        parse_options(raw)
