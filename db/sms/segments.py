"""What a message costs: its encoding (GSM-7 or UCS-2) and how many SMS parts it is sent as.

GSM-7 (3GPP TS 23.038) fits 160 septets in one SMS; a longer message is split into parts of 153 (each part
carries a 7-septet header). Characters of the extension table (€ ^ { } [ ] ~ | \\ and form feed) take two
septets, and an escape pair is never split across parts. A message with any other character is sent as
UCS-2: 70 UTF-16 units in one SMS, 67 per part; characters outside the Basic Multilingual Plane (emoji)
take two units and are never split.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7 = "GSM-7"
UCS2 = "UCS-2"
SINGLE = {GSM7: 160, UCS2: 70}
PART = {GSM7: 153, UCS2: 67}


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str
    """GSM-7 or UCS-2."""
    characters: int
    """Characters as a person counts them."""
    units: int
    """Septets (GSM-7, extension characters count 2) or UTF-16 units (UCS-2, emoji count 2)."""
    segments: int
    """SMS parts the gateway bills."""
    per_segment: int
    """How many units fit in one part at this length (160/153 or 70/67)."""

    def describe(self) -> str:
        parts = "1 SMS" if self.segments == 1 else f"{self.segments} SMS parts"
        return f"{self.characters} characters, {self.encoding}, {parts}"


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _costs(text: str, encoding: str) -> list[int]:
    if encoding == GSM7:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def segments(text: str) -> SegmentInfo:
    """Encoding, length and part count of `text` as an SMS gateway sends it."""
    encoding = GSM7 if is_gsm7(text) else UCS2
    costs = _costs(text, encoding)
    units = sum(costs)
    if units == 0:
        return SegmentInfo(encoding, 0, 0, 0, SINGLE[encoding])
    if units <= SINGLE[encoding]:
        return SegmentInfo(encoding, len(text), units, 1, SINGLE[encoding])
    capacity = PART[encoding]
    count, used = 1, 0
    for cost in costs:  # a two-unit character never straddles two parts
        if used + cost > capacity:
            count += 1
            used = 0
        used += cost
    return SegmentInfo(encoding, len(text), units, count, capacity)
