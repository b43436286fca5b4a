"""The reporting export's figures for BENCHMARKS.md (issue 13): the report of 100,000 known cases
written from the ledger with `export --all-known --refresh-budget 0`, time and peak memory, with no
request (the base URL points at a closed port). Standard library only; GNU time for the peak RSS.
Run alone through `ONLY=refresh scripts/bench` (replaces section 9 of BENCHMARKS.md), or as part of
the whole bench."""
import csv, datetime, os, random, re, shutil, statistics, subprocess, sys, time, zipfile

HEAD = ["kayse_id", "case_number", "external_source", "external_source_id", "name", "court_name",
        "jurisdiction", "description", "status", "type", "is_obo", "created_date", "court_date", "end_date"]
STATES = ["GA", "TX", "CA", "NY", "FL", "IL", "WA", "AZ"]
# Nothing listens here: a request would fail the run, so exit 0 means none was made.
CLOSED = "http://127.0.0.1:9"


def _results_csv(path, n, seed=13):
    """A results file of n created cases, as an import writes it: what `ledger add` learns from."""
    r = random.Random(seed)
    base = datetime.date(2020, 1, 1)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEAD)
        for i in range(1, n + 1):
            d1 = base + datetime.timedelta(days=r.randrange(1500))
            w.writerow([100000 + i, f"R-{i:07d}", "bench", f"r-{i}", f"Plaintiff {i} v. Defendant {i % 977}",
                        f"{r.choice(STATES)} Superior Court", r.choice(STATES),
                        "Generated benchmark case with a description of moderate length",
                        r.choice(["active", "closed", "pending"]), r.choice(["civil", "family", "criminal"]),
                        r.choice(["true", "false"]), d1.isoformat(),
                        (d1 + datetime.timedelta(days=90)).isoformat(), ""])


def _timed(cmd, env, cwd):
    """(seconds, peak RSS MiB, exit code) of one run, by GNU time."""
    tf = os.path.join(cwd, "time.txt")
    t0 = time.monotonic()
    rc = subprocess.call(["/usr/bin/time", "-f", "%M", "-o", tf] + cmd, env=env, cwd=cwd,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    el = time.monotonic() - t0
    with open(tf) as f:
        kib = int(f.read().strip().splitlines()[-1])
    return el, kib / 1024, rc


def _rows(path):
    """Data rows of a report: CSV records, or the first sheet's <row> elements, less the header."""
    if path.endswith(".xlsx"):
        with zipfile.ZipFile(path) as z:
            return len(re.findall(rb"<row ", z.read("xl/worksheets/sheet1.xml"))) - 1
    with open(path, encoding="utf-8-sig", newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def section(bin_, data, cases=100_000, runs=3):
    """The section's lines (markdown)."""
    data = os.path.abspath(os.path.join(data, "refresh"))
    if os.path.isdir(data):
        shutil.rmtree(data)
    os.makedirs(data)
    ledger = os.path.join(data, "kayse.ledger.sqlite")
    env = dict(os.environ, KAYSE_BASE_URL=CLOSED, KAYSE_API_KEY="bench-key", KAYSE_LEDGER=ledger)
    _results_csv(os.path.join(data, "cases.results.csv"), cases)
    seed = _timed([bin_, "-q", "ledger", "add", "cases.results.csv"], env, data)
    print(f"  ledger add: exit {seed[2]}, {seed[0]:.1f} s", file=sys.stderr)
    out = [f"## 9. The report from the ledger ({cases:,} known cases, `export --all-known --refresh-budget 0`, no request)\n",
           f"The ledger is seeded with `ledger add` of a generated results file ({seed[0]:.1f} s, exit {seed[2]}); "
           f"the base URL is a closed port, so any request would fail the run. Median of {runs} runs; peak RSS by "
           "GNU time.\n",
           "| output | time | peak RSS | rows in the report | exit code |",
           "|---|---:|---:|---:|---:|"]
    ok = seed[2] == 0
    for ext in ("xlsx", "csv"):
        cmd = [bin_, "-q", "export", "--all-known", "--refresh-budget", "0", "--out", f"report.{ext}"]
        res = [_timed(cmd, env, data) for _ in range(runs)]
        t, mib, rc = statistics.median(r[0] for r in res), statistics.median(r[1] for r in res), res[-1][2]
        rows = f"{_rows(os.path.join(data, f'report.{ext}')):,}" if rc == 0 else ""
        print(f"  report.{ext}: exit {rc}, {t:.2f} s, {mib:.0f} MiB", file=sys.stderr)
        out.append(f"| {ext.upper()} | {t:.2f} s | {mib:.0f} MiB | {rows} | {rc} |")
        ok = ok and rc == 0 and t < 5 and mib < 200
    out.append("")
    out.append(f"- Goal, under 5 s and 200 MiB with no request: **{'met' if ok else 'not met'}**. The cases stream "
               "from the ledger one at a time and the workbook's sheet is written in constant-memory mode, so "
               "memory does not grow with the number of cases.\n")
    return out


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    print("\n".join(section(a.bin, a.data, a.cases, a.runs)))
