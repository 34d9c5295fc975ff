"""Why position lookups by (location, sku) are a join or an OR on SQLite, not a row-value IN:

    python -m benchmarks.ledger.row_value_lookup

300 x 2,000 positions in memory (the ledger's primary key, WITHOUT ROWID); three keys looked
up each way, 20 times; prints SQLite's plan and the mean time of each.
"""

from __future__ import annotations

import sqlite3
import time

LOOKUPS = 20


def main() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE position (location TEXT, sku TEXT, on_hand INT,"
               " PRIMARY KEY (location, sku)) WITHOUT ROWID")  # fmt: skip
    db.executemany("INSERT INTO position VALUES (?, ?, 1)",
                   [(f"L{i}", f"S{j}") for i in range(300) for j in range(2_000)])  # fmt: skip
    keys = [("L5", "S7"), ("L100", "S1999"), ("L299", "S3")]
    pairs = ",".join(["(?,?)"] * len(keys))
    values = [part for key in keys for part in key]
    ways = {
        "row-value IN": f"SELECT * FROM position WHERE (location, sku) IN (VALUES {pairs})",
        "join": f"SELECT p.* FROM (VALUES {pairs}) AS k JOIN position p"
        " ON p.location = k.column1 AND p.sku = k.column2",
        "OR": "SELECT * FROM position WHERE "
        + " OR ".join(["(location = ? AND sku = ?)"] * len(keys)),
    }
    print(f"SQLite {sqlite3.sqlite_version}")
    for name, query in ways.items():
        plan = [row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + query, values)]
        started = time.perf_counter()
        for _ in range(LOOKUPS):
            assert len(db.execute(query, values).fetchall()) == len(keys)
        mean_ms = (time.perf_counter() - started) / LOOKUPS * 1000
        print(f"{name:>13}: {mean_ms:8.3f} ms  {' / '.join(plan)}")


if __name__ == "__main__":
    main()
