#!/usr/bin/env python3
"""judge_order.py - several stations' journals and their order database,
judged together.

    judge_order.py ATTEMPTS.tsv RECORDS.tsv RECORD_COUNT JOURNAL... [--partial | --live]

ATTEMPTS.tsv: the database's cf_attempt rows as `station|attempt|record|serial|status`;
RECORDS.tsv: cf_record rows as `record|state|serial`. Each JOURNAL is named
STATION=PATH. Checks:
  - every record personalized at most once across all journals (exactly
    once unless --partial), and no card serial personalized twice;
  - the database's attempts are the union of the journals' card lines
    (station, attempt, record, serial, status), plus the intents of
    attempts a journal has no card line for (open, or interrupted when a
    later attempt finished their card);
  - every record the journals personalized is `done` in the database with
    that card's serial (and, without --partial, every record is done).
--live: stations may still be running (or were killed before sending what
their journals hold): only what must hold at every instant is checked: no
record or serial twice, every attempt in the database is in a journal with
the same record and serial, every record done in the database was
personalized with that serial in a journal.
"""
import json
import sys


def journal_cards(path):
    cards, intents = {}, {}
    with open(path, "rb") as f:
        for raw in f.read().split(b"\n"):
            try:
                r = json.loads(raw)
            except ValueError:
                continue  # a torn last line
            if r.get("type") == "card":
                cards[r["attempt"]] = r
            elif r.get("type") == "intent":
                intents.setdefault(r["attempt"], r)
    return cards, intents


def main():
    args = [a for a in sys.argv[1:] if a not in ("--partial", "--live")]
    live = "--live" in sys.argv
    partial = "--partial" in sys.argv or live
    attempts_tsv, records_tsv, count = args[0], args[1], int(args[2])
    problems = []
    db_attempts = {}
    for line in open(attempts_tsv).read().splitlines():
        station, attempt, record, serial, status = line.split("|")
        db_attempts[(station, int(attempt))] = (int(record) if record else 0, serial, status)
    db_records = {}
    for line in open(records_tsv).read().splitlines():
        record, state, serial = line.split("|")
        db_records[int(record)] = (state, serial)

    want = {}
    done_by = {}
    serials = {}
    for spec in args[3:]:
        station, path = spec.split("=", 1)
        cards, intents = journal_cards(path)
        for attempt, c in cards.items():
            status = c["status"]
            want[(station, attempt)] = (c.get("record") or 0, c.get("serial", ""), status)
            if status == "personalized":
                rec = c["record"]
                if rec in done_by:
                    problems.append("record %d personalized twice: %s and %s/%d"
                                    % (rec, done_by[rec], station, attempt))
                done_by[rec] = "%s/%d" % (station, attempt)
                if c["serial"] in serials:
                    problems.append("serial %s personalized twice" % c["serial"])
                serials[c["serial"]] = rec
        recovered = {c.get("recovers") for c in cards.values() if c.get("recovers")}
        for attempt, i in intents.items():
            if attempt not in cards:
                # An attempt cut off whose card a later attempt finished is
                # closed as interrupted; the others stay open.
                status = "interrupted" if attempt in recovered else "open"
                want[(station, attempt)] = (i["record"], i["serial"], status)

    for key, row in sorted(want.items()):
        got = db_attempts.get(key)
        if live:
            if got is not None and got[:2] != row[:2]:
                problems.append("attempt %s/%d: journal %s, database %s" % (key[0], key[1], row, got))
        elif got is None:
            problems.append("attempt %s/%d (%s) is not in the database" % (key[0], key[1], row[2]))
        elif got != row:
            problems.append("attempt %s/%d: journal %s, database %s" % (key[0], key[1], row, got))
    for key in sorted(set(db_attempts) - set(want)):
        problems.append("attempt %s/%d is in the database, in no journal" % key)

    for rec, who in sorted(done_by.items()):
        state, serial = db_records.get(rec, ("missing", ""))
        card_serial = next(c for (s, a), c in want.items() if "%s/%d" % (s, a) == who)[1]
        if live and state != "done":
            continue  # not sent yet
        if state != "done" or serial != card_serial:
            problems.append("record %d: personalized by %s on %s, database says %s %s"
                            % (rec, who, card_serial, state, serial))
    for rec, (state, serial) in sorted(db_records.items()):
        if state == "done" and rec not in done_by:
            problems.append("record %d is done in the database, personalized in no journal" % rec)
    if not partial:
        missing = [r for r in range(1, count + 1) if r not in done_by]
        if missing:
            problems.append("records not personalized: %s" % missing[:20])

    if problems:
        print("judge_order: FAIL:\n  " + "\n  ".join(problems[:30]))
        return 1
    print("judge_order: ok: %d records personalized once, %d attempts in journals and database alike"
          % (len(done_by), len(want)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
