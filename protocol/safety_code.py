"""Safety codes: a fingerprint as twelve pictures two people can compare.

The first 72 bits of an identity's fingerprint, read as twelve 6-bit numbers
(most significant bit first), each naming one of 64 symbols. Each symbol has
a picture and an English word, so the code can be compared side by side or
read aloud. 72 bits put a second key with the same code out of reach of a
brute-force search; the full hex fingerprint is always available too.
"""

from typing import NamedTuple

from protocol.errors import KeyFormatError

SAFETY_CODE_SYMBOLS = 12
_BITS_PER_SYMBOL = 6


class SafetySymbol(NamedTuple):
    emoji: str
    name: str


SAFETY_SYMBOLS: tuple[SafetySymbol, ...] = tuple(
    SafetySymbol(emoji, name)
    for emoji, name in (
        ("\U0001f436", "Dog"),
        ("\U0001f431", "Cat"),
        ("\U0001f981", "Lion"),
        ("\U0001f40e", "Horse"),
        ("\U0001f984", "Unicorn"),
        ("\U0001f437", "Pig"),
        ("\U0001f418", "Elephant"),
        ("\U0001f430", "Rabbit"),
        ("\U0001f43c", "Panda"),
        ("\U0001f413", "Rooster"),
        ("\U0001f427", "Penguin"),
        ("\U0001f422", "Turtle"),
        ("\U0001f41f", "Fish"),
        ("\U0001f419", "Octopus"),
        ("\U0001f98b", "Butterfly"),
        ("\U0001f337", "Flower"),
        ("\U0001f333", "Tree"),
        ("\U0001f335", "Cactus"),
        ("\U0001f344", "Mushroom"),
        ("\U0001f30f", "Globe"),
        ("\U0001f319", "Moon"),
        ("\u2601\ufe0f", "Cloud"),
        ("\U0001f525", "Fire"),
        ("\U0001f34c", "Banana"),
        ("\U0001f34e", "Apple"),
        ("\U0001f353", "Strawberry"),
        ("\U0001f33d", "Corn"),
        ("\U0001f355", "Pizza"),
        ("\U0001f382", "Cake"),
        ("\u2764\ufe0f", "Heart"),
        ("\U0001f600", "Smiley"),
        ("\U0001f916", "Robot"),
        ("\U0001f3a9", "Hat"),
        ("\U0001f453", "Glasses"),
        ("\U0001f527", "Spanner"),
        ("\U0001f385", "Santa"),
        ("\U0001f44d", "Thumbs Up"),
        ("\u2602\ufe0f", "Umbrella"),
        ("\u231b", "Hourglass"),
        ("\u23f0", "Clock"),
        ("\U0001f381", "Gift"),
        ("\U0001f4a1", "Light Bulb"),
        ("\U0001f4d5", "Book"),
        ("\u270f\ufe0f", "Pencil"),
        ("\U0001f4ce", "Paperclip"),
        ("\u2702\ufe0f", "Scissors"),
        ("\U0001f512", "Lock"),
        ("\U0001f511", "Key"),
        ("\U0001f528", "Hammer"),
        ("\u260e\ufe0f", "Telephone"),
        ("\U0001f3c1", "Flag"),
        ("\U0001f682", "Train"),
        ("\U0001f6b2", "Bicycle"),
        ("\u2708\ufe0f", "Aeroplane"),
        ("\U0001f680", "Rocket"),
        ("\U0001f3c6", "Trophy"),
        ("\u26bd", "Ball"),
        ("\U0001f3b8", "Guitar"),
        ("\U0001f3ba", "Trumpet"),
        ("\U0001f514", "Bell"),
        ("\u2693", "Anchor"),
        ("\U0001f3a7", "Headphones"),
        ("\U0001f4c1", "Folder"),
        ("\U0001f4cc", "Pin"),
    )
)
assert len(SAFETY_SYMBOLS) == 1 << _BITS_PER_SYMBOL


def safety_code(fingerprint: bytes) -> tuple[SafetySymbol, ...]:
    """The twelve symbols for a 32-byte fingerprint."""
    if len(fingerprint) != 32:
        raise KeyFormatError("a fingerprint is 32 bytes")
    bits = int.from_bytes(fingerprint[:9], "big")
    total = SAFETY_CODE_SYMBOLS * _BITS_PER_SYMBOL
    return tuple(
        SAFETY_SYMBOLS[(bits >> (total - _BITS_PER_SYMBOL * (i + 1))) & 0x3F]
        for i in range(SAFETY_CODE_SYMBOLS)
    )
