"""Keep policies and the chain rule: what `--keep first|longest` drops, chained drops before and after, and the
cost of the two-pass policy.

    .venv/bin/python benchmarks/keep.py [--corpus reuters bbc] [--thresholds 0.5 0.8] [--runs 3]
        [--old-rev 4d0254b] [--old-tree /tmp/wt-old] [--out FILE]

The corpora are decompressed to plain JSONL in a temporary directory first (the line counts are checked).

"Before" is the code of commit ``--old-rev`` (default 4d0254b, the last one with the old rule: a record is a
duplicate of the most similar earlier record at Jaccard >= t, even when that record is itself a duplicate), run
from a git worktree at ``--old-tree`` (created with ``git worktree add`` when missing) as
``PYTHONPATH=TREE python -m dedupe scan FILE -t T -w 2 --report R`` with the tree as working directory (the
script checks that ``import dedupe`` resolves there). "After" is this checkout (the rule of 5a6445e: a record
is a duplicate only of a kept record at >= t), ``python -m dedupe scan FILE -t T --keep P -w 2 --report R``
for P = first and longest. Every scan output line carries ``"dedupe": {"cluster", "duplicate_of",
"similarity"}``; the counts below are read from it, the clusters from the report's ``clusters`` (final
clusters, with all members).

Measured per corpus and threshold t:

1. records dropped (``duplicate_of`` not null) before, after with ``--keep first``, after with
   ``--keep longest``; records dropped before and kept after (and the reverse); whether the final clusters
   (as sets of ids) are the same in the three runs.
2. chained drops: dropped records whose ``duplicate_of`` is itself dropped. For each, its root is found by
   following ``duplicate_of`` to a kept record; counted: those whose exact Jaccard with the root is < t, the
   lowest such Jaccard, and those with no kept record of their final cluster at >= t (content that ``filter``
   lost). Exact Jaccard: ``jaccard(text_shingles(a), text_shingles(b))`` from this checkout's ``dedupe``
   (default normalization, word 5-grams: the sets dedupe verifies with). For the new code every dropped record
   under every policy is checked: its ``duplicate_of`` is kept, and their exact Jaccard is >= t; violations
   are listed by id (there should be none). Also checked: ``dedupe filter`` writes exactly the records scan
   marks kept, in input order; under ``longest`` no dropped record has a longer text than its kept record.
3. cost: ``.venv/bin/dedupe filter FILE -t T --keep P -w 2 > /dev/null`` for P = first and longest, each a
   fresh subprocess; wall time from just before the spawn to ``os.wait4``; peak RSS = ``ru_maxrss`` of
   ``os.wait4`` (the largest process of the tree, not the sum). ``--runs`` rounds, interleaved: each round runs
   every (corpus, t, policy) once, the policy order alternating between rounds. Reported: median (min-max) and
   the ratio of medians longest / first. These runs come first, while this process is still small (a child
   inherits its parent's peak RSS as the floor of its own).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CORPORA, open_jsonl
from _runner import ROOT, header_lines, run_measured, spread

OLD_REV = "4d0254b"
OLD_TREE = Path("/tmp/wt-old")
POLICIES = ("first", "longest")
EXPECTED_LINES = {"reuters": 21_578, "bbc": 2_225}
MAX_IDS_SHOWN = 10


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- setup


def decompress(name: str, src: Path, tmp: Path) -> Path:
    """``src`` as plain JSONL in ``tmp``; its non-blank line count checked against the known corpus size."""
    dst = tmp / f"{name}.jsonl"
    with open_jsonl(src) as fin, open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
    with open(dst, "rb") as fh:
        lines = sum(1 for line in fh if line.strip())
    expected = EXPECTED_LINES.get(name)
    if expected is not None and lines != expected:
        raise SystemExit(f"{dst}: {lines} records, expected {expected}")
    return dst


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def ensure_worktree(tree: Path, rev: str) -> str:
    """The full commit of ``rev``, checked out at ``tree`` (a worktree added when missing)."""
    want = git("rev-parse", f"{rev}^{{commit}}")
    if not tree.exists():
        log(f"git worktree add {tree} {rev}")
        git("worktree", "add", "--detach", str(tree), rev)
    have = git("rev-parse", "HEAD", cwd=tree)
    if have != want:
        raise SystemExit(f"{tree} is at {have[:10]}, not {rev} ({want[:10]}); remove it or pass --old-tree")
    dirty = git("status", "--porcelain", "--", "dedupe", cwd=tree)
    if dirty:
        raise SystemExit(f"{tree} has changes in dedupe/:\n{dirty}")
    return want


def code_state() -> str:
    """The code measured as "after": HEAD, the files of dedupe/ changed against it, and a hash of dedupe/'s files
    as they are (so that a commit made during the run does not count as a change, an edit does)."""
    import hashlib

    head = git("rev-parse", "--short", "HEAD")
    files = git("diff", "--name-only", "HEAD", "--", "dedupe").split()
    digest = hashlib.sha256()
    for path in sorted((ROOT / "dedupe").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    changed = f", uncommitted changes in {', '.join(f'`{f}`' for f in files)}" if files else ""
    return f"git {head}{changed} (dedupe/*.py sha256 {digest.hexdigest()[:12]})"


def env_for(tree: Path | None) -> dict[str, str]:
    """The environment of a child: PYTHONPATH = ``tree`` (old code) or unset (this checkout)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env


def check_import(tree: Path | None) -> None:
    """Stop unless ``python -m dedupe`` in the child's setting imports the code intended."""
    cwd = tree if tree is not None else ROOT
    where = subprocess.run([sys.executable, "-c", "import dedupe; print(dedupe.__file__)"], cwd=cwd,
                           env=env_for(tree), check=True, capture_output=True, text=True).stdout.strip()
    if not Path(where).resolve().is_relative_to(cwd.resolve()):
        raise SystemExit(f"dedupe imported from {where}, expected below {cwd}")


# --------------------------------------------------------------------------- runs


def scan_cmd(path: Path, t: float, keep: str | None, report: Path) -> list[str]:
    cmd = [sys.executable, "-m", "dedupe", "scan", str(path), "-t", str(t), "-w", "2", "--report", str(report)]
    return cmd if keep is None else [*cmd, "--keep", keep]


def run(cmd: list[str], out: Path, tree: Path | None) -> None:
    with open(out, "wb") as fh:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.PIPE,
                              cwd=tree if tree is not None else ROOT, env=env_for(tree))
    if proc.returncode != 0:
        raise SystemExit(f"failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr.decode()[-3000:]}")


@dataclass
class Scan:
    label: str
    dup_of: list[int]  # per input position: position of duplicate_of, or -1 (kept)
    similarity: list[float | None]
    report: dict
    clusters: set[frozenset[int]] = field(default_factory=set)
    cluster_of: dict[int, int] = field(default_factory=dict)  # position -> index into members
    members: list[list[int]] = field(default_factory=list)

    @property
    def dropped(self) -> list[int]:
        return [k for k, d in enumerate(self.dup_of) if d >= 0]


def read_scan(label: str, out: Path, report: Path, position: dict[str, int], ids: list[str]) -> Scan:
    dup_of: list[int] = []
    sims: list[float | None] = []
    with open(out, "rb") as fh:
        for k, line in enumerate(fh):
            obj = orjson.loads(line)
            if str(obj["id"]) != ids[k]:
                raise SystemExit(f"{label}: line {k + 1} has id {obj['id']!r}, input has {ids[k]!r}")
            ann = obj["dedupe"]
            of = ann["duplicate_of"]
            dup_of.append(-1 if of is None else position[str(of)])
            sims.append(ann["similarity"])
    if len(dup_of) != len(ids):
        raise SystemExit(f"{label}: {len(dup_of)} output lines for {len(ids)} records")
    rep = orjson.loads(report.read_bytes())
    scan = Scan(label, dup_of, sims, rep)
    for c in rep["clusters"]:
        members = sorted(position[str(m)] for m in c["members"])
        scan.clusters.add(frozenset(members))
        for m in members:
            scan.cluster_of[m] = len(scan.members)
        scan.members.append(members)
    if len(scan.clusters) != rep["counts"]["clusters"]:
        raise SystemExit(f"{label}: report lists {len(scan.clusters)} of {rep['counts']['clusters']} clusters")
    return scan


def filter_ids(path: Path, t: float, keep: str, tmp: Path) -> list[str]:
    """Ids that ``dedupe filter --keep`` writes, in order (one untimed run)."""
    out = tmp / "filter.jsonl"
    run([str(Path(sys.executable).parent / "dedupe"), "filter", str(path), "-t", str(t), "--keep", keep, "-w", "2"],
        out, None)
    with open(out, "rb") as fh:
        return [str(orjson.loads(line)["id"]) for line in fh if line.strip()]


# --------------------------------------------------------------------------- timing


def timing(paths: dict[str, Path], thresholds: list[float], runs: int) -> dict[tuple[str, float, str], list]:
    exe = str(Path(sys.executable).parent / "dedupe")
    results: dict[tuple[str, float, str], list] = {}
    for r in range(runs):
        order = POLICIES if r % 2 == 0 else POLICIES[::-1]
        for name, path in paths.items():
            for t in thresholds:
                for policy in order:
                    cmd = [exe, "filter", str(path), "-t", str(t), "--keep", policy, "-w", "2"]
                    m = run_measured(cmd)
                    results.setdefault((name, t, policy), []).append(m)
                    log(f"round {r + 1}/{runs}: {name} t={t} --keep {policy}: {m.seconds:.2f} s, "
                        f"{m.peak_rss_mb:.0f} MiB")
    return results


# --------------------------------------------------------------------------- measures


class Exact:
    """Exact Jaccard of corpus documents by position, shingle sets computed once each."""

    def __init__(self, texts: list[str]) -> None:
        from dedupe import text_shingles
        from dedupe.core.similarity import jaccard

        self.texts = texts
        self._shingles = text_shingles
        self._jaccard = jaccard
        self._cache: dict[int, object] = {}

    def sets(self, k: int):  # type: ignore[no-untyped-def]
        s = self._cache.get(k)
        if s is None:
            s = self._cache[k] = self._shingles(self.texts[k])
        return s

    def __call__(self, a: int, b: int) -> float:
        return float(self._jaccard(self.sets(a), self.sets(b)))


def root_of(dup_of: list[int], k: int) -> tuple[int, int]:
    """(the kept record at the end of k's duplicate_of chain, the chain's length)."""
    depth = 0
    seen = set()
    while dup_of[k] >= 0:
        if k in seen:
            raise SystemExit(f"duplicate_of cycle through position {k}")
        seen.add(k)
        k = dup_of[k]
        depth += 1
    return k, depth


@dataclass
class Chains:
    chained: int = 0  # dropped records whose duplicate_of is dropped
    below: int = 0  # ... whose exact J with the root is < t
    lowest: float = math.nan  # lowest such J
    lost: int = 0  # ... with no kept record of their cluster at >= t
    longest_chain: int = 0
    below_ids: list[str] = field(default_factory=list)
    lost_ids: list[str] = field(default_factory=list)


def chains(scan: Scan, exact: Exact, t: float, ids: list[str]) -> Chains:
    c = Chains()
    for k in scan.dropped:
        root, depth = root_of(scan.dup_of, k)
        c.longest_chain = max(c.longest_chain, depth)
        if depth < 2:
            continue
        c.chained += 1
        j = exact(k, root)
        if j < t:
            c.below += 1
            c.lowest = j if math.isnan(c.lowest) else min(c.lowest, j)
            c.below_ids.append(ids[k])
            kept = [m for m in scan.members[scan.cluster_of[k]] if scan.dup_of[m] < 0]
            if not any(exact(k, m) >= t for m in kept):
                c.lost += 1
                c.lost_ids.append(ids[k])
    return c


@dataclass
class Check:
    dropped: int = 0
    not_kept: list[str] = field(default_factory=list)  # ids whose duplicate_of is itself dropped
    below: list[str] = field(default_factory=list)  # ids with exact J < t to their duplicate_of
    lowest: float = math.nan  # lowest exact J of a dropped record to its duplicate_of
    max_sim_error: float = 0.0  # largest |reported similarity - exact J|
    longer_than_kept: list[str] = field(default_factory=list)  # (longest) dropped text longer than the kept one
    filter_matches: bool | None = None


def check(scan: Scan, exact: Exact, t: float, ids: list[str], longest: bool) -> Check:
    c = Check()
    for k in scan.dropped:
        c.dropped += 1
        d = scan.dup_of[k]
        if scan.dup_of[d] >= 0:
            c.not_kept.append(f"{ids[k]} -> {ids[d]}")
        j = exact(k, d)
        c.lowest = j if math.isnan(c.lowest) else min(c.lowest, j)
        if j < t:
            c.below.append(f"{ids[k]} -> {ids[d]} (J = {j:.4f})")
        sim = scan.similarity[k]
        if sim is not None:
            c.max_sim_error = max(c.max_sim_error, abs(float(sim) - j))
        if longest and len(exact.texts[k]) > len(exact.texts[d]):
            c.longer_than_kept.append(f"{ids[k]} -> {ids[d]}")
    return c


# --------------------------------------------------------------------------- Markdown


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def fmt(x: float, digits: int = 4) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def shown(items: list[str]) -> str:
    more = f" and {len(items) - MAX_IDS_SHOWN} more" if len(items) > MAX_IDS_SHOWN else ""
    return ", ".join(f"`{x}`" for x in items[:MAX_IDS_SHOWN]) + more


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", nargs="+", choices=sorted(CORPORA), default=["reuters", "bbc"])
    parser.add_argument("--thresholds", nargs="+", type=float, default=[0.5, 0.8])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each filter command")
    parser.add_argument("--old-rev", default=OLD_REV, help="commit of the old rule")
    parser.add_argument("--old-tree", type=Path, default=OLD_TREE, help="git worktree of --old-rev")
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    args = parser.parse_args()

    old_commit = ensure_worktree(args.old_tree, args.old_rev)
    check_import(args.old_tree)
    check_import(None)
    head = header_lines(["numpy", "orjson"])
    state = code_state()

    with tempfile.TemporaryDirectory(prefix="dedupe-keep-") as tmpdir:
        tmp = Path(tmpdir)
        paths = {name: decompress(name, CORPORA[name], tmp) for name in args.corpus}
        log("timing ...")
        times = timing(paths, args.thresholds, args.runs)

        # Only now load the corpora, dedupe and numpy into this process.
        sys.path.insert(0, str(ROOT))
        import dedupe

        if not Path(dedupe.__file__).resolve().is_relative_to(ROOT.resolve()):
            raise SystemExit(f"this process imported dedupe from {dedupe.__file__}, not {ROOT}")
        from _common import load_corpus

        drop_rows, chain_rows, check_rows, problems, notes = [], [], [], [], []
        for name, path in paths.items():
            ids, texts = load_corpus(path)
            position = {x: k for k, x in enumerate(ids)}
            if len(position) != len(ids):
                raise SystemExit(f"{name}: ids are not unique")
            exact = Exact(texts)
            for t in args.thresholds:
                log(f"{name} t={t}: scans ...")
                scans: dict[str, Scan] = {}
                for label, keep, tree in (("before", None, args.old_tree), ("first", "first", None),
                                          ("longest", "longest", None)):
                    out, rep = tmp / f"{label}.jsonl", tmp / f"{label}.json"
                    run(scan_cmd(path, t, keep, rep), out, tree)
                    scans[label] = read_scan(f"{name} t={t} {label}", out, rep, position, ids)
                before, first, longest = scans["before"], scans["first"], scans["longest"]
                old_dropped, new_dropped = set(before.dropped), set(first.dropped)
                same_clusters = before.clusters == first.clusters == longest.clusters
                drop_rows.append([
                    name, f"{t:.2f}", f"{len(ids):,}", f"{len(old_dropped):,}", f"{len(new_dropped):,}",
                    f"{len(longest.dropped):,}", f"{len(old_dropped - new_dropped):,}",
                    f"{len(new_dropped - old_dropped):,}",
                    f"{first.report['keep']['kept_matching_only_dropped']:,}",
                    str(longest.report['keep'].get('kept_not_first', 'n/a')),
                    f"{len(before.clusters):,} / {len(first.clusters):,} / {len(longest.clusters):,}",
                    "yes" if same_clusters else "NO",
                ])
                ch = chains(before, exact, t, ids)
                if ch.below_ids:
                    notes.append(f"{name}, t = {t:.2f}: chained drops before with J < t to their root: "
                                 f"{shown(ch.below_ids)}")
                after = [chains(s, exact, t, ids).chained for s in (first, longest)]
                now_kept = sorted((ids[k] for k in old_dropped - new_dropped), key=position.__getitem__)
                if now_kept or ch.lost_ids:
                    same = "the same records" if now_kept == ch.lost_ids else "NOT the same records"
                    notes.append(f"{name}, t = {t:.2f}: dropped before and kept after (first): {shown(now_kept)}; "
                                 f"lost before: {shown(ch.lost_ids)} ({same})")
                chain_rows.append([
                    name, f"{t:.2f}", f"{len(old_dropped):,}", f"{ch.chained:,}", f"{ch.below:,}", fmt(ch.lowest),
                    f"{ch.lost:,}", str(ch.longest_chain), f"{after[0]:,}", f"{after[1]:,}",
                ])
                for label, scan in (("before", before), ("first", first), ("longest", longest)):
                    c = check(scan, exact, t, ids, label == "longest")
                    if label != "before":
                        written = filter_ids(path, t, label, tmp)
                        c.filter_matches = written == [ids[k] for k, d in enumerate(scan.dup_of) if d < 0]
                        for what, items in (("duplicate_of not kept", c.not_kept),
                                            ("exact J < t to duplicate_of", c.below),
                                            ("text longer than its kept record", c.longer_than_kept)):
                            if items:
                                problems.append(f"{name}, t = {t:.2f}, --keep {label}: {len(items)} dropped "
                                                f"with {what}: {shown(items)}")
                        if not c.filter_matches:
                            problems.append(f"{name}, t = {t:.2f}, --keep {label}: `filter` does not write "
                                            f"exactly the records scan keeps")
                    code = f"before ({args.old_rev})" if label == "before" else f"after, --keep {label}"
                    check_rows.append([
                        name, f"{t:.2f}", code, f"{c.dropped:,}", f"{len(c.not_kept):,}", f"{len(c.below):,}",
                        fmt(c.lowest), fmt(c.max_sim_error, 6),
                        f"{len(c.longer_than_kept):,}" if label == "longest" else "-",
                        "-" if c.filter_matches is None else ("yes" if c.filter_matches else "NO"),
                    ])
                if not same_clusters:
                    problems.append(f"{name}, t = {t:.2f}: final clusters differ between before / first / longest")

    end_state = code_state()
    if end_state.rsplit("(", 1)[1] != state.rsplit("(", 1)[1]:
        problems.append(f"dedupe/ changed during the run: {state} at the start, {end_state} at the end")
    lines = ["## Keep policies and the chain rule", "", *head,
             f"- before: git {old_commit[:7]} (worktree `{args.old_tree}`); after: this checkout, {state}", ""]
    lines += ["### Records dropped", "",
              "dropped = records with a non-null `duplicate_of` (what `filter` drops); kept matching only dropped = "
              "the report's `keep.kept_matching_only_dropped` (first); kept not first = the report's "
              "`keep.kept_not_first` (longest): clusters whose kept copy is not the first seen.", ""]
    lines += table(["corpus", "t", "records", "dropped before", "dropped after (first)", "dropped after (longest)",
                    "dropped before, kept after (first)", "kept before, dropped after (first)",
                    "kept matching only dropped (first)", "kept not first (longest)",
                    "clusters before / first / longest", "same final clusters"], drop_rows)
    lines += ["", "### Chained drops", "",
              "chained = dropped records whose `duplicate_of` is itself dropped; root = the kept record at the end "
              "of the `duplicate_of` chain; J = exact Jaccard of dedupe's shingle sets; lost = chained records "
              "below t to their root with no kept record of their final cluster at J >= t.", ""]
    lines += table(["corpus", "t", "dropped before", "chained before", "of which J(root) < t", "lowest J(root)",
                    "lost", "longest chain before", "chained after (first)", "chained after (longest)"], chain_rows)
    lines += ["", "### Every dropped record checked against the record it names", "",
              "not kept = `duplicate_of` is itself dropped; below t = exact J < t; lowest J = the lowest exact J "
              "of a dropped record to its `duplicate_of`; |sim - J| = the largest difference between the "
              "written similarity and the exact J; longer = (longest) dropped records with a longer text than "
              "their kept record; filter = `dedupe filter --keep P` writes exactly the records scan keeps, in "
              "input order.", ""]
    lines += table(["corpus", "t", "code", "dropped", "not kept", "below t", "lowest J", "max abs(sim - J)",
                    "longer", "filter"], check_rows)
    lines += ["", f"### Cost of `--keep longest` (two passes) against `--keep first`, `filter -w 2`, {args.runs} "
              "runs each, interleaved", "",
              "Wall seconds and peak RSS (MiB): median (min-max). Timings on this VM are noisy (other load on "
              "the host); compare the ratios.", ""]
    rows = []
    for name in paths:
        for t in args.thresholds:
            f, lg = times[(name, t, "first")], times[(name, t, "longest")]
            fs, ls = [m.seconds for m in f], [m.seconds for m in lg]
            fr, lr = [m.peak_rss_mb for m in f], [m.peak_rss_mb for m in lg]
            rows.append([name, f"{t:.2f}", spread(fs, ".2f"), spread(ls, ".2f"),
                         f"{statistics.median(ls) / statistics.median(fs):.2f}x", spread(fr, ".0f"),
                         spread(lr, ".0f"), f"{statistics.median(lr) / statistics.median(fr):.2f}x"])
    lines += table(["corpus", "t", "seconds, first", "seconds, longest", "time longest / first",
                    "peak RSS, first", "peak RSS, longest", "RSS longest / first"], rows)
    lines += ["", "### Findings", ""]
    lines += [f"- PROBLEM: {p}" for p in problems] or ["- no dropped record of the new code names a record that is "
                                                     "not kept, or one below t; `filter` writes what scan keeps"]
    lines += [f"- {n}" for n in notes]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
