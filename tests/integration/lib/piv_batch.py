#!/usr/bin/env python3
"""piv_batch.py - write a batch for tests/data/run/piv-job.ini.

    piv_batch.py OUT.csv RECORDS SEED FIRST_ID

Columns ID,NAME,PIN,NEW_PUK,NEW_KEY; the values are random but the same for
the same seed, so a failing run can be repeated.
"""
import random
import sys


def main():
    out, records, seed, first_id = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    random.seed(seed)
    with open(out, "w") as f:
        f.write("ID,NAME,PIN,NEW_PUK,NEW_KEY\n")
        for i in range(1, records + 1):
            f.write("%d,Holder %d,%06d,%08d,%048X\n" % (first_id + i, i, random.randrange(10**6),
                    random.randrange(10**8), random.getrandbits(192)))


if __name__ == "__main__":
    main()
