"""Print the repeated passages of a `dedupe scan --passages` output, with their text.

Usage:
    dedupe scan --passages seeds/seeds.jsonl > build/passages.jsonl
    python seeds/passages.py build/passages.jsonl

Each line shows the kind, the similarity, the repeated span and the earlier
span it matches (record id and text), both cut from the records' text by
their code point offsets.
"""

from __future__ import annotations

import argparse
import json
import textwrap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("annotated", help="output of dedupe scan --passages")
    parser.add_argument("--text-field", default="text")
    parser.add_argument("--width", type=int, default=100)
    args = parser.parse_args()
    texts: dict[str, str] = {}
    with open(args.annotated, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            note = record.get("dedupe", {})
            rid = str(note.get("cluster") if record.get("id") is None else record["id"])
            text = record[args.text_field]
            texts[rid] = text
            for p in note.get("passages", []):
                m = p["match"]
                print(f"{rid} [{p['start']}:{p['end']}] {p['kind']} {p['unit']} similarity {p['similarity']}")
                print(textwrap.indent(textwrap.fill(text[p["start"] : p["end"]], args.width), "    "))
                print(f"  repeats {m['id']} [{m['start']}:{m['end']}]")
                print(textwrap.indent(textwrap.fill(texts[m["id"]][m["start"] : m["end"]], args.width), "    "))
                print()


if __name__ == "__main__":
    main()
