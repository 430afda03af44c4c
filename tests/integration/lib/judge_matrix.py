#!/usr/bin/env python3
"""judge_matrix.py - judge one cell of the personalization matrix by the
cards themselves (their state files) and the journal.

    judge_matrix.py done|refused JOURNAL CARDS_DIR [--blocks] [--rotates] [--puk]

done: every card record says personalized, every card the run released
(CARDS_DIR/out) holds a changed PIN (blocked with --blocks), a new admin key
with --rotates, a new PUK with --puk; nothing is left in a reader.
refused: every card record is rejected by the plan check ("refused on card
type"), and every card released is exactly as it left the factory: PIN,
PUK, keys and every counter. Exits 1 with the problems, else 0.
"""
import json
import os
import sys

FACTORY = {
    "piv": {"pin": b"123456".hex().upper(), "puk": b"12345678".hex().upper(),
            "mgm_key": "010203040506070801020304050607080102030405060708"},
    "yubikey": {"pin": b"123456".hex().upper(), "puk": b"12345678".hex().upper(),
                "mgm_key": "010203040506070801020304050607080102030405060708"},
    "gids": {"pin": b"0000".hex().upper(), "admin_key": "00" * 24},
}


def state(path):
    st = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                st.setdefault(k, v)
    return st


def main():
    want, journal, cards = sys.argv[1], sys.argv[2], sys.argv[3]
    flags = set(sys.argv[4:])
    problems = []
    recs = [json.loads(l) for l in open(journal) if '"type":"card"' in l]
    if not recs:
        problems.append("no card record in the journal")
    for r in recs:
        if want == "done" and r["status"] != "personalized":
            problems.append("card %s: %s: %s" % (r["serial"], r["status"], r["message"]))
        if want == "refused" and (r["status"] != "rejected" or "refused on card type" not in r["message"]):
            problems.append("card %s: expected a refusal by the plan check, got %s: %s"
                            % (r["serial"], r["status"], r["message"]))
    if os.listdir(os.path.join(cards, "in")):
        problems.append("cards left in readers: %s" % os.listdir(os.path.join(cards, "in")))
    out = os.path.join(cards, "out")
    for name in sorted(os.listdir(out)):
        st = state(os.path.join(out, name))
        base = st.get("type", "?")
        fac = FACTORY.get(base, {})
        key = "mgm_key" if "mgm_key" in fac else "admin_key"
        if want == "refused":
            for k, v in fac.items():
                if st.get(k, "").upper() != v:
                    problems.append("%s: %s changed on a refused card" % (name, k))
            for c in ("pin", "puk", "admin"):
                if st.get(c + "_tries", "x") != st.get(c + "_max", "x"):
                    problems.append("%s: %s counter spent on a refused card" % (name, c))
            continue
        if st.get("pin", "").upper() == fac.get("pin"):
            problems.append("%s: the PIN is still the factory PIN" % name)
        if "--blocks" in flags and st.get("pin_tries") != "0":
            problems.append("%s: the PIN is not blocked (%s tries)" % (name, st.get("pin_tries")))
        if "--rotates" in flags and st.get(key, "").upper() == fac.get(key):
            problems.append("%s: the admin key is still the factory key" % name)
        if "--puk" in flags and st.get("puk", "").upper() == fac.get("puk"):
            problems.append("%s: the PUK is still the factory PUK" % name)
    for p in problems:
        print(p)
    if not problems:
        print("ok: %d card records, %d cards judged" % (len(recs), len(os.listdir(out))))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
