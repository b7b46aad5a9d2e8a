"""Demo corpus with planted near-duplicates, and a check of what dedupe found.

    python seeds/generate.py --out build/demo.jsonl
    cat seeds/seeds.jsonl build/demo.jsonl | dedupe scan --report r.json > annotated.jsonl
    python seeds/generate.py --check annotated.jsonl --report r.json

The check exits 0 whatever it finds: it reports, it does not test.

Base documents are 300 words drawn (seeded) from the vocabulary of the seed
articles, so unrelated documents share almost no 5-gram. Planted documents
are copies of a base document with 0 to 12 random word substitutions,
recorded in the fields ``planted_from`` and ``edits``. The check computes the
exact Jaccard of every planted pair with dedupe's own shingling and reports
which pairs at or above the threshold were found.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def vocabulary() -> list[str]:
    words: set[str] = set()
    for path in sorted(HERE.glob("*.txt")):
        words.update(re.findall(r"[A-Za-z]+", path.read_text(encoding="utf-8")))
    return sorted(words)


def generate(seed: int = 7, bases: int = 40, planted: int = 30, words: int = 300) -> list[dict]:
    rng = random.Random(seed)
    vocab = vocabulary()
    docs = [{"id": f"base-{i:03d}", "text": " ".join(rng.choices(vocab, k=words))} for i in range(bases)]
    out = list(docs)
    for k in range(planted):
        source = rng.choice(docs)
        tokens = source["text"].split(" ")
        edits = rng.choice([0, 1, 2, 3, 4, 6, 8, 12])
        for pos in rng.sample(range(len(tokens)), edits):
            tokens[pos] = rng.choice(vocab)
        out.append({"id": f"planted-{k:03d}", "text": " ".join(tokens), "planted_from": source["id"], "edits": edits})
    out.append({"id": "empty-1", "text": ""})
    out.append({"id": "empty-2", "text": ""})
    return out


def check(annotated: Path, report: Path) -> int:
    from dedupe import jaccard, text_shingles

    records = [json.loads(line) for line in annotated.read_text(encoding="utf-8").splitlines()]
    rep = json.loads(report.read_text(encoding="utf-8"))
    threshold = rep["parameters"]["threshold"]
    by_id = {r["id"]: r for r in records}
    cluster_of = {m: c["cluster"] for c in rep["clusters"] for m in c["members"]}
    bands, rows = rep["parameters"]["bands"], rep["parameters"]["rows"]
    found = expected = below = 0
    missed = []
    for rec in records:
        if "planted_from" not in rec:
            continue
        j = jaccard(text_shingles(rec["text"]), text_shingles(by_id[rec["planted_from"]]["text"]))
        same = cluster_of.get(rec["id"]) is not None and cluster_of.get(rec["id"]) == cluster_of.get(rec["planted_from"])
        if j >= threshold:
            expected += 1
            found += same
            if not same:
                p = 1 - (1 - j**rows) ** bands
                missed.append(f"  missed {rec['id']} ~ {rec['planted_from']}: J = {j:.3f}, P(LSH candidate) = {p:.3f}")
        else:
            below += 1
    c = rep["counts"]
    print(f"report: {c['input']} records, {c['kept']} kept, {c['duplicates']} duplicates, "
          f"{c['clusters']} clusters, {c['rejected']} rejected")
    print(f"bands x rows = {rep['parameters']['bands']} x {rep['parameters']['rows']}, threshold {threshold}")
    for cl in rep["clusters"][:5]:
        print(f"  cluster {cl['cluster']}: {cl['size']} members: {', '.join(cl['members'])}")
    seeds = [r for r in records if not r["id"].startswith(("base-", "planted-", "empty-"))]
    print(f"seed articles: {', '.join(r['id'] + ' duplicate_of=' + str(r['dedupe']['duplicate_of']) for r in seeds)}")
    print(f"planted pairs with exact Jaccard >= {threshold}: {found}/{expected} found in the same cluster "
          f"({below} planted pairs fell below the threshold after their edits)")
    print("\n".join(missed))
    if missed:
        print("  (LSH finds a pair with probability 1-(1-J^rows)^bands: an occasional miss near the threshold is expected)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="write the demo corpus here (JSONL)")
    parser.add_argument("--check", type=Path, help="annotated output of dedupe scan to check")
    parser.add_argument("--report", type=Path, help="JSON report of that run (with --check)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", encoding="utf-8") as fh:
            for doc in generate(args.seed):
                fh.write(json.dumps(doc, ensure_ascii=False) + "\n")
        return 0
    if args.check and args.report:
        return check(args.check, args.report)
    parser.error("give --out, or --check with --report")
    return 2


if __name__ == "__main__":
    sys.exit(main())
