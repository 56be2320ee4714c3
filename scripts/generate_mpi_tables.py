"""Generate ``yteso/fhir/data/cccd_provinces.json`` from the shared reference table.

Run from the project root: ``.venv/bin/python scripts/generate_mpi_tables.py``. The runtime never
reads ``../shared``; it reads the committed JSON this script writes (sources in
``../shared/ref/vn/SOURCES.md``: Decree 137/2015/ND-CP Art. 13, Circular 07/2016/TT-BCA Art. 7).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "ref" / "vn" / "cccd_province_codes.csv"
TARGET = ROOT / "yteso" / "fhir" / "data" / "cccd_provinces.json"


def main() -> None:
    with SOURCE.open(encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    table = {
        "source": "shared/ref/vn/cccd_province_codes.csv (Decree 137/2015/ND-CP Art. 13)",
        "prefixes": {row["cccd_prefix"]: row["legacy_province"] for row in rows},
    }
    TARGET.write_text(json.dumps(table, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(rows)} CCCD province prefixes -> {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
