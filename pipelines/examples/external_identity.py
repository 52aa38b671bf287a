#!/usr/bin/env python3
"""A Bulwark external defense: reads batches as .npy on stdin, writes them back on stdout.

Bulwark starts this program once per run, writes one batch (float32, N x H x W x C, values in
[0, 1]) as a .npy document, waits for one .npy document of the same shape back, and repeats;
at the end it closes stdin. Replace `defend` with your own transformation.
"""
import sys

import numpy as np
from numpy.lib.format import read_array, write_array


def defend(images: np.ndarray) -> np.ndarray:
    """The defense: here the identity. Must return the same shape, float32 or float64."""
    return images


class Reader:
    """Standard input seen through read() alone: numpy reads a real file with fromfile(),
    which needs a file position, and a pipe has none."""

    def __init__(self, stream):
        self.read = stream.read


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    reader = Reader(stdin)
    while True:
        # End of input (Bulwark closed stdin) means the run is over.
        if not stdin.peek(1):
            break
        batch = read_array(reader)
        write_array(stdout, np.ascontiguousarray(defend(batch), dtype=np.float32))
        stdout.flush()  # Bulwark waits for the whole answer before sending the next batch.


if __name__ == "__main__":
    main()
