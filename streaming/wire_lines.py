"""Wire values laid out in one newline-separated text: what the columnar contract check parses
in one call, and what the generator's encoder produces without a copy per event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Lines:
    """Value i is `text[starts[i]:ends[i]]`; values are separated by one newline each."""

    text: bytes
    starts: NDArray[np.int64]
    ends: NDArray[np.int64]

    @staticmethod
    def join(values: Sequence[bytes]) -> Lines:
        lengths = np.fromiter(map(len, values), np.int64, len(values))
        ends = np.cumsum(lengths + 1) - 1
        return Lines(b"\n".join(values), ends - lengths, ends)

    def __len__(self) -> int:
        return int(self.starts.size)

    def __getitem__(self, rows: slice) -> Lines:
        return Lines(self.text, self.starts[rows], self.ends[rows])

    def value(self, row: int) -> bytes:
        return self.text[self.starts[row] : self.ends[row]]

    def values(self) -> list[bytes]:
        text, n = self.text, len(self)
        if n and self.starts[0] == 0 and self.ends[-1] >= len(text) - 1 and self.well_formed():
            values = text.split(b"\n", n - 1)  # the values are the whole text's lines: C speed
            values[-1] = values[-1][: self.ends[-1] - self.starts[-1]]
            return values
        return [text[a:b] for a, b in zip(self.starts.tolist(), self.ends.tolist(), strict=True)]

    def well_formed(self) -> bool:
        """Every value non-empty and exactly one newline between neighbours, none inside."""
        if not len(self):
            return True
        buf = np.frombuffer(self.text, np.uint8)
        inner = self.ends[:-1]
        return bool(
            (self.ends > self.starts).all()
            and (self.starts[1:] == inner + 1).all()
            and (buf[inner] == ord("\n")).all()
            and np.count_nonzero(buf[self.starts[0] : self.ends[-1]] == ord("\n")) == inner.size
        )
