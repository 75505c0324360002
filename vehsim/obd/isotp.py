"""ISO 15765-2 (ISO-TP) segmentation of an ECU's response into CAN frames (ISO 15765-4 OBD).

A response of up to 7 bytes is one *single frame* (PCI byte ``0L``: type 0, length L); a longer
one is a *first frame* (``1L LL``: type 1, 12-bit length, then 6 data bytes) followed by
*consecutive frames* (``2N``: type 2, sequence number N = 1, 2, ... F, 0, 1, ..., then 7 data
bytes). ISO 15765-4 fixes the CAN data length of diagnostic frames at 8, so short frames are
padded. The tester's flow control after a first frame is implied (an adapter sends it itself).

Identifiers (ISO 15765-4, 11-bit): requests go to ``7DF`` (functional, every ECU) or ``7E0``..
``7E7`` (physical, ECU #1..#8); ECU #n answers from ``7E8 + n - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: CAN data length of every OBD frame (ISO 15765-4) [bytes].
FRAME_BYTES = 8
#: Padding of unused frame bytes (ISO 15765-2 leaves the value to the sender).
PAD_BYTE = 0x00
#: Largest payload one first frame can announce (12-bit length) [bytes].
MAX_PAYLOAD_BYTES = 0xFFF
FUNCTIONAL_REQUEST_ID = 0x7DF
ENGINE_REQUEST_ID = 0x7E0
ENGINE_RESPONSE_ID = 0x7E8

SINGLE, FIRST, CONSECUTIVE = 0x0, 0x1, 0x2


@dataclass(frozen=True)
class Frame:
    """One CAN frame: 11-bit identifier and its 8 data bytes (PCI first)."""

    can_id: int
    data: bytes

    @property
    def kind(self) -> int:
        return self.data[0] >> 4


def segment(payload: bytes, can_id: int = ENGINE_RESPONSE_ID) -> list[Frame]:
    """Split ``payload`` into single, or first and consecutive, frames of 8 bytes."""
    if not payload:
        raise ValueError("an ISO-TP message carries at least one byte")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"an ISO-TP message carries at most {MAX_PAYLOAD_BYTES} bytes")

    def frame(data: bytes) -> Frame:
        return Frame(can_id, data.ljust(FRAME_BYTES, bytes((PAD_BYTE,))))

    if len(payload) <= FRAME_BYTES - 1:
        return [frame(bytes((SINGLE << 4 | len(payload),)) + payload)]
    n = len(payload)
    frames = [frame(bytes((FIRST << 4 | n >> 8, n & 0xFF)) + payload[:6])]
    rest = payload[6:]
    for k in range(0, len(rest), 7):
        seq = (k // 7 + 1) & 0xF
        frames.append(frame(bytes((CONSECUTIVE << 4 | seq,)) + rest[k : k + 7]))
    return frames


def reassemble(frames: list[Frame]) -> bytes:
    """The payload of a single frame, or of a first frame and its consecutive frames."""
    head = frames[0]
    if head.kind == SINGLE:
        return head.data[1 : 1 + (head.data[0] & 0xF)]
    if head.kind != FIRST:
        raise ValueError("a message starts with a single or a first frame")
    n = (head.data[0] & 0xF) << 8 | head.data[1]
    out = bytearray(head.data[2:])
    for k, f in enumerate(frames[1:], start=1):
        if f.kind != CONSECUTIVE or f.data[0] & 0xF != k & 0xF:
            raise ValueError(f"consecutive frame {k} out of order")
        out += f.data[1:]
    return bytes(out[:n])
