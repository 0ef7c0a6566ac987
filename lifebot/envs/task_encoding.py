"""A fixed-size encoding of a task's instruction, so one multitask policy can tell tasks apart.

A multi-hot vector over a fixed vocabulary (the words the generators and the catalog use) plus one bucket for
any other word. The vocabulary is part of the observation contract: appending words changes the observation
size, so it is versioned with :data:`ENCODING_VERSION`.
"""

from __future__ import annotations

import re

import numpy as np

ENCODING_VERSION = 1

VOCABULARY: tuple[str, ...] = (
    # verbs and function words of the generated instructions
    "pick",
    "put",
    "place",
    "lift",
    "stack",
    "open",
    "close",
    "move",
    "push",
    "then",
    "and",
    "up",
    "it",
    "on",
    "in",
    "into",
    "onto",
    "to",
    "of",
    "the",
    "top",
    "region",
    # spatial relations
    "left",
    "right",
    "front",
    "behind",
    "next",
    "between",
    "near",
    "far",
    "back",
    "centre",
    "corner",
    # colours and sizes
    "red",
    "green",
    "blue",
    "yellow",
    "big",
    "small",
    # object words
    "cube",
    "block",
    "cylinder",
    "can",
    "milk",
    "carton",
    "bread",
    "cereal",
    "box",
    "lemon",
    "bottle",
    "plate",
    "basket",
    "lid",
)
_INDEX = {word: i for i, word in enumerate(VOCABULARY)}
ENCODING_SIZE = len(VOCABULARY) + 1  # + one bucket for words outside the vocabulary


def encode_instruction(instruction: str) -> np.ndarray:
    """Multi-hot float32 vector of length ENCODING_SIZE."""
    vector = np.zeros(ENCODING_SIZE, dtype=np.float32)
    for word in re.findall(r"[a-z]+", instruction.lower()):
        vector[_INDEX.get(word, len(VOCABULARY))] = 1.0
    return vector
