"""The folds' `replace` (events/evolve.py) gives what dataclasses.replace gives, for every record type."""

from __future__ import annotations

import copyreg
import dataclasses
import io
import pickle
import subprocess
import sys
import typing
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_constructors import RECORD_TYPES, values_of

from builders import build_claim, build_fault, build_host_state, build_instance_state
from novalog.events.avro_shapes import COMMON_RECORDS
from novalog.events.evolve import changed, reduce_record, replace


@pytest.mark.parametrize("cls", (*RECORD_TYPES, *COMMON_RECORDS), ids=lambda cls: cls.__name__)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_replace_gives_what_dataclasses_replace_gives(cls, data) -> None:
    record = data.draw(values_of(cls))
    hints = typing.get_type_hints(cls)
    names = data.draw(st.lists(st.sampled_from([f.name for f in dataclasses.fields(cls)]), unique=True, max_size=4))
    changes = {name: data.draw(values_of(hints[name])) for name in names}
    before = repr(record)

    copy = replace(record, **changes)

    assert type(copy) is cls and copy is not record
    assert repr(copy) == repr(dataclasses.replace(record, **changes))
    assert repr(record) == before


@pytest.mark.parametrize("cls", (*RECORD_TYPES, *COMMON_RECORDS), ids=lambda cls: cls.__name__)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_changed_is_the_dataclass_inequality(cls, data) -> None:
    record, other = data.draw(values_of(cls)), data.draw(values_of(cls))
    hints = typing.get_type_hints(cls)
    name = data.draw(st.sampled_from([f.name for f in dataclasses.fields(cls)]))
    copy = replace(record, **{name: data.draw(values_of(hints[name]))})

    for a, b in ((record, other), (record, copy), (copy, record), (record, record), (record, None), (None, record)):
        assert changed(a, b) == (a != b)


@pytest.mark.parametrize(("old", "new", "differ"), [
    pytest.param(0.0, -0.0, False, id="signed-zeros-equal"),  # equal floats, though their bytes differ
    pytest.param(float("nan"), float("nan"), True, id="two-nans"),
    pytest.param(1, 1.0, False, id="int-and-float"),
])
def test_changed_follows_the_tuple_comparison_on_odd_values(old, new, differ) -> None:
    host = build_host_state(heartbeat_interval_s=old)

    assert changed(replace(host, heartbeat_interval_s=new), host) is differ is (replace(host, heartbeat_interval_s=new) != host)
    assert changed(replace(host, vcpus=5), host)  # a NaN kept from the old row (the same object) is no change, as in a tuple:
    nan_row = build_host_state(heartbeat_interval_s=float("nan"))
    assert changed(replace(nan_row, vcpus=nan_row.vcpus), nan_row) is False is (replace(nan_row, vcpus=nan_row.vcpus) != nan_row)


def test_an_unknown_field_is_refused_as_dataclasses_refuses_it() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        replace(build_fault(), colour="red")


@dataclass(frozen=True, slots=True)
class Checked:
    size: int

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError("negative size")


def test_a_class_that_checks_its_values_still_runs_its_check() -> None:
    with pytest.raises(ValueError, match="negative size"):
        replace(Checked(1), size=-1)


def pickled(value) -> bytes:
    """Pickled with reduce_record for every record class, as the replay's helper process pickles the rows it sends."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, **{cls: reduce_record for cls in (*RECORD_TYPES, *COMMON_RECORDS)}}
    pickler.dump(value)
    return buffer.getvalue()


@pytest.mark.parametrize("cls", (*RECORD_TYPES, *COMMON_RECORDS), ids=lambda cls: cls.__name__)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_a_record_pickled_slot_by_slot_comes_back_the_same(cls, data) -> None:
    record = data.draw(values_of(cls))

    assert repr(pickle.loads(pickled(record))) == repr(record)


def test_another_process_unpickles_the_rows_without_having_made_a_filler() -> None:
    rows = {b"i-1": build_instance_state(), b"h-1": build_host_state(claims=[build_claim()])}
    read_back = subprocess.run(
        [sys.executable, "-c", "import pickle, sys; print(repr(pickle.loads(sys.stdin.buffer.read())))"],
        input=pickled(rows), capture_output=True, check=True,
    )

    assert read_back.stdout.decode().strip() == repr(rows)
