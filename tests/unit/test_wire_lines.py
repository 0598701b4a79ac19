"""Values laid out in one text: cut back exactly, however they were laid out."""

from __future__ import annotations

import pytest

from streaming.wire_lines import Lines


@pytest.mark.parametrize(
    "values", [[b"a", b"bc", b"d"], [b"x"], [b"a", b"", b"c"], [b"a\nb", b"c"], [b"{}", b"\r"], []]
)
def test_values_come_back_exactly(values: list[bytes]) -> None:
    lines = Lines.join(values)
    assert lines.values() == values
    assert [lines.value(i) for i in range(len(values))] == values
    if values:  # the encoder's layout: a newline after the last value too
        trailing = Lines(lines.text + b"\n", lines.starts, lines.ends)
        assert trailing.values() == values
        assert lines[1:].values() == values[1:]


def test_well_formed_means_one_newline_between_values_and_none_inside() -> None:
    assert Lines.join([b"a", b"b"]).well_formed()
    assert not Lines.join([b"a\nb", b"c"]).well_formed()
    assert not Lines.join([b"a", b""]).well_formed()
    assert Lines.join([]).well_formed()
