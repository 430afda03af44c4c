#!/usr/bin/env python3
"""hold_card.py READER: another application holding a card.

Connects to READER's card in exclusive mode through libpcsclite (as a
smart-card service or a tool polling the reader may), prints "held" on
standard output, keeps the card until standard input ends, then
disconnects, leaving the card as it was. Exit status 1 when the card cannot
be taken.
"""
import ctypes
import sys

SCOPE_SYSTEM, SHARE_EXCLUSIVE, PROTOCOL_T0_T1, LEAVE_CARD = 2, 1, 3, 0

lib = ctypes.CDLL("libpcsclite.so.1")
ctx, card, proto = ctypes.c_long(), ctypes.c_long(), ctypes.c_ulong()
rc = lib.SCardEstablishContext(ctypes.c_ulong(SCOPE_SYSTEM), None, None, ctypes.byref(ctx))
if rc != 0:
    sys.exit("hold_card: SCardEstablishContext: 0x%08X" % (rc & 0xFFFFFFFF))
rc = lib.SCardConnect(ctx, sys.argv[1].encode(), ctypes.c_ulong(SHARE_EXCLUSIVE),
                      ctypes.c_ulong(PROTOCOL_T0_T1), ctypes.byref(card), ctypes.byref(proto))
if rc != 0:
    sys.exit("hold_card: SCardConnect: 0x%08X" % (rc & 0xFFFFFFFF))
print("held", flush=True)
sys.stdin.read()
lib.SCardDisconnect(card, ctypes.c_ulong(LEAVE_CARD))
lib.SCardReleaseContext(ctx)
