"""The instance table's declared fold (`handle`) is `fold` then `touch`, though it copies the row once for both.

Checked on every instance event of a synthetic cloud's log (boots, actions,
moves, deletes, failures), row by row, by repr.
"""

from __future__ import annotations

from typing import get_args

from novalog.events.evolve import replace
from novalog.projections import instances
from novalog.projections.synthetic_log import CloudShape, synthetic_log


def test_handle_gives_fold_then_touch_for_every_event_of_a_cloud() -> None:
    rows, checked = {}, 0
    for offset, record in enumerate(synthetic_log(6000, CloudShape(hosts=8, projects=20, busy=0.9))):
        if not isinstance(record.value, get_args(instances.Folded)):
            continue
        before = rows.get(record.key)
        folded, outs = instances.fold(before, record.value)
        if folded is not None and before is None:
            folded = replace(folded, build_offset=offset)  # the build's offset numbers the instance
        expected = None if folded is None else instances.touch(folded, record.value, offset)

        new, handled_outs = instances.handle(before, record.value, offset)

        assert (repr(new), handled_outs) == (repr(expected), outs)
        if new is not None:
            rows[record.key] = new
            checked += 1
    assert checked > 2000
