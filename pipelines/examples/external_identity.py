#!/usr/bin/env python3
"""A Bulwark external defense: reads batches as .npy on stdin, writes them back on stdout.

Bulwark starts this program once per run, writes one batch (float32, N x H x W x C, values in
[0, 1]) as a .npy document, waits for one .npy document of the same shape back, and repeats;
at the end it closes stdin. Replace `defend` with your own transformation. See the README,
"External defenses".
"""
import sys

import numpy as np
from numpy.lib.format import read_array, write_array


def defend(images: np.ndarray) -> np.ndarray:
    return images  # N x H x W x C float32 in [0, 1]; return the same shape


class Reader:
    """stdin through read() alone: numpy reads real files with fromfile(), which a pipe
    cannot serve."""

    def __init__(self, stream):
        self.read = stream.read


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    reader = Reader(stdin)
    while stdin.peek(1):  # empty at end of input: Bulwark closed stdin
        batch = read_array(reader)
        write_array(stdout, np.ascontiguousarray(defend(batch), dtype=np.float32))
        stdout.flush()


if __name__ == "__main__":
    main()
