#!/usr/bin/env python3
"""check_batch.py - judge a batch run by its journal and the cards themselves.

    check_batch.py JOURNAL BATCH.csv --cards DIR [DIR ...] [--partial]
                   [--pin PIN_COL] [--puk PUK_COL] [--key KEY_COL] [--blocked]

The cards are PIV state files (card-<serial>.state, as cardforge-vcard's
feeder and `cardforge run --sim-keep` keep them). Checked:

  * no batch record and no serial is personalized twice;
  * every personalized card holds its record's values: the PIN (and PUK,
    management key) of the record the journal gave it, its PIN blocked with
    --blocked;
  * every card changed from its factory state is accounted for in the
    journal: an intent or a card record names its serial;
  * without --partial: every record of the batch is personalized, and no
    card is left cut off (an intent without a card record after it: the
    record of its own attempt, or a later one that set it aside because its
    batch record was finished on another card meanwhile); cards that failed
    after a change (set aside for rework) are listed, not counted as
    problems.

Prints every problem found and exits 1 if there is any, else prints a
one-line summary and exits 0.
"""
import argparse
import csv
import json
import os
import sys

FACTORY = {
    "pin": b"123456".hex().upper(),
    "puk": b"12345678".hex().upper(),
    "mgm_key": "010203040506070801020304050607080102030405060708",
}


def load_state(path):
    st = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            st[k] = v
    return st


def changed(st):
    for k, v in FACTORY.items():
        if st.get(k, v).upper() != v:
            return True
    if st.get("pin_tries", st.get("pin_max")) != st.get("pin_max", st.get("pin_tries")):
        return True
    if st.get("puk_tries", st.get("puk_max")) != st.get("puk_max", st.get("puk_tries")):
        return True
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("journal")
    ap.add_argument("batch")
    ap.add_argument("--cards", nargs="+", required=True)
    ap.add_argument("--partial", action="store_true")
    ap.add_argument("--pin", default="PIN")
    ap.add_argument("--puk")
    ap.add_argument("--key")
    ap.add_argument("--blocked", action="store_true")
    a = ap.parse_args()

    problems = []
    with open(a.batch, newline="") as f:
        rows = list(csv.DictReader(f))
    records = {i + 1: r for i, r in enumerate(rows)}

    done_by_record = {}
    done_by_serial = {}
    mentioned = set()
    open_intent = {}  # serial -> attempt of an intent not closed
    cut_off = {}  # serial -> attempt of an intent with no card record (yet)
    n_lines = 0
    with open(a.journal) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a torn last line; the runner removes it
            n_lines += 1
            t = rec.get("type")
            if t == "intent":
                mentioned.add(rec["serial"])
                open_intent[rec["serial"]] = rec["attempt"]
                cut_off[rec["serial"]] = rec["attempt"]
            elif t == "card":
                s = rec["serial"]
                if s:
                    mentioned.add(s)
                changed_here = any(st["reached"] != "no" for st in rec["steps"])
                if cut_off.get(s) == rec["attempt"]:
                    del cut_off[s]
                elif s in cut_off and rec["status"] != "personalized":
                    # The cut-off card came back after its record was done
                    # on another card: looked at again and set aside for
                    # rework (its record says so), not left cut off.
                    del cut_off[s]
                if rec["status"] == "personalized":
                    r = rec["record"]
                    if r in done_by_record:
                        problems.append("record %s personalized twice (serials %s and %s)"
                                        % (r, done_by_record[r], s))
                    if s in done_by_serial:
                        problems.append("serial %s personalized twice (records %s and %s)"
                                        % (s, done_by_serial[s], r))
                    done_by_record[r] = s
                    done_by_serial[s] = r
                    open_intent.pop(s, None)
                elif open_intent.get(s) == rec["attempt"] and not changed_here:
                    open_intent.pop(s, None)
                if rec["status"] != "personalized" and changed_here:
                    open_intent[s] = rec["attempt"]

    cards = {}
    for d in a.cards:
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            if name.startswith("card-") and name.endswith(".state"):
                st = load_state(os.path.join(d, name))
                cards[st.get("serial", name[5:-6])] = st

    touched = 0
    for serial, st in cards.items():
        if changed(st):
            touched += 1
            if serial not in mentioned:
                problems.append("card %s was changed but the journal never names it" % serial)
    for serial, r in done_by_serial.items():
        st = cards.get(serial)
        if st is None:
            problems.append("personalized card %s (record %s): no state file" % (serial, r))
            continue
        row = records.get(r)
        if row is None:
            problems.append("card %s: record %s is not in the batch" % (serial, r))
            continue
        want = {"pin": row[a.pin].encode().hex().upper()}
        if a.puk:
            want["puk"] = row[a.puk].encode().hex().upper()
        if a.key:
            want["mgm_key"] = row[a.key].upper()
        for k, v in want.items():
            if st.get(k, "").upper() != v:
                problems.append("card %s (record %s): %s is not the record's" % (serial, r, k))
        if a.blocked and st.get("pin_tries") != "0":
            problems.append("card %s (record %s): PIN not blocked" % (serial, r))
    if not a.partial:
        missing = sorted(set(records) - set(done_by_record))
        if missing:
            problems.append("records never personalized: %s" % missing[:20])
        if cut_off:
            problems.append("cards cut off and never finished: %s" % sorted(cut_off)[:20])

    for p in problems:
        print("check_batch: " + p)
    if problems:
        return 1
    print("check_batch: ok: %d/%d records personalized once, %d cards, %d changed, all accounted"
          "; %d set aside for rework" % (len(done_by_record), len(records), len(cards), touched,
                                         len(open_intent)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
