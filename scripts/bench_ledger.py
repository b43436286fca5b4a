"""The ledger's figures for BENCHMARKS.md (issue 11): re-imports, `reconcile --probe` (also with other
writers' ids interleaved) and two imports at once, against the sandbox, counted by the sandbox's own
request statistics. Standard library only. Run alone through `ONLY=ledger scripts/bench` (replaces
its sections of BENCHMARKS.md), or as part of the whole bench."""
import csv, json, os, re, shutil, signal, subprocess, sys, time, urllib.request

from bench_common import get as _get, sandbox as _sandbox

HEAD = ["case_number", "external_source", "external_source_id", "status", "type", "name"]


def _write(path, n, changed=(), status="closed"):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEAD)
        for i in range(1, n + 1):
            w.writerow([f"LB-{i:06d}", "bench", f"lb-{i}", status if i in changed else "active",
                        "civil", f"Case {i}"])


def _results(path):
    with open(path, encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


class _Run:
    def __init__(self, bin_, data, url, ledger):
        self.bin, self.data, self.url, self.ledger = bin_, data, url, ledger

    def __call__(self, *args, ledger=None):
        env = dict(os.environ, KAYSE_BASE_URL=self.url, KAYSE_API_KEY="sandbox",
                   KAYSE_BULK_RETRY_BASE_MS="20", KAYSE_LEDGER=ledger or self.ledger)
        before = _get(self.url + "/sandbox/stats")
        t0 = time.monotonic()
        rc = subprocess.call([self.bin, "-q"] + list(args), env=env, cwd=self.data,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"  {' '.join(args)}: exit {rc}, {time.monotonic() - t0:.1f} s", file=sys.stderr)
        after = _get(self.url + "/sandbox/stats")
        by = lambda s, r: s.get("by_route", {}).get(r, 0)
        return dict(rc=rc, requests=after["requests"] - before["requests"],
                    bulk=by(after, "POST /v1/cases/bulk") - by(before, "POST /v1/cases/bulk"),
                    gets=by(after, "GET /v1/cases/{id}") - by(before, "GET /v1/cases/{id}"))


def _fresh(data):
    if os.path.isdir(data):
        shutil.rmtree(data)
    os.makedirs(data)


def section(bin_, data, rows=5000, batch=100, changed=50):
    """The section's lines (markdown)."""
    data = os.path.abspath(os.path.join(data, "ledger"))
    _fresh(data)
    out = [f"## 6. The ledger: re-imports ({rows:,} rows, batch {batch}, sandbox, requests counted by the server)\n"]
    proc, url = _sandbox(bin_, ["--seed", "5"])
    table = []
    try:
        run = _Run(bin_, data, url, os.path.join(data, "kayse.ledger.sqlite"))
        src = os.path.join(data, "cases.csv")
        _write(src, rows)
        _write(os.path.join(data, "first.csv"), rows)
        b = ["--batch-size", str(batch)]
        first = run("import", "cases.csv", "--results", "r1.csv", *b)
        ids = {r["case_number"]: r["kayse_id"] for r in _results(os.path.join(data, "r1.csv"))}
        table.append(("first import", first, f"{sum(1 for v in ids.values() if v)} created"))
        again = run("import", "cases.csv", "--results", "r2.csv", *b)
        r2 = _results(os.path.join(data, "r2.csv"))
        ok = all(r["kayse_result"] == "unchanged" and r["kayse_id"] == ids[r["case_number"]] for r in r2)
        table.append(("same file again", again, f"{sum(r['kayse_result'] == 'unchanged' for r in r2)} unchanged, "
                      f"ids as created: {'yes' if ok else 'NO'}"))
        for mode, lo in (("keep", 1), ("clear", 1001)):
            rowsc = set(range(lo, lo + changed))
            _write(src, rows, changed=rowsc | (set(range(1, 1 + changed)) if mode == "clear" else set()))
            r = run("import", "cases.csv", "--results", f"r-{mode}.csv", "--update-blanks", mode, *b)
            res = _results(os.path.join(data, f"r-{mode}.csv"))
            upd = {int(x["case_number"][3:]) for x in res if x["kayse_result"] == "updated"}
            table.append((f"{changed} rows changed, --update-blanks {mode}", r,
                          f"{len(upd)} updated, exactly the changed rows: {'yes' if upd == rowsc else 'NO'}"))
        laptop = os.path.join(data, "laptop.sqlite")
        add = run("ledger", "add", "r1.csv", ledger=laptop)
        fresh = run("import", "first.csv", "--results", "r-laptop.csv", *b, ledger=laptop)
        rl = _results(os.path.join(data, "r-laptop.csv"))
        table.append(("first file, fresh ledger after `ledger add` of its results", fresh,
                      f"{sum(r['kayse_result'] == 'unchanged' for r in rl)} unchanged (ledger add: exit {add['rc']})"))
        with open(os.path.join(data, "damaged.sqlite"), "wb") as f:
            f.write(b"not a database " * 500)
        bad = run("import", "cases.csv", "--results", "r-bad.csv", ledger=os.path.join(data, "damaged.sqlite"))
        table.append(("damaged ledger file", bad, "one line on stderr"))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    out.append("| run | requests | bulk | GETs | exit code | rows |")
    out.append("|---|---:|---:|---:|---:|---|")
    for name, r, note in table:
        out.append(f"| {name} | {r['requests']} | {r['bulk']} | {r['gets']} | {r['rc']} | {note} |")
    out.append("")
    out.append(f"- Goals: the unchanged re-import and the re-import after `ledger add` cost 0 requests; "
               f"{changed} changed rows cost ⌈{changed} ÷ {batch}⌉ = {-(-changed // batch)} bulk request plus "
               f"{changed} GETs under `keep` and 0 under `clear`; a damaged ledger exits 2 having sent nothing.\n")
    out.extend(_probe_section(bin_, data))
    out.extend(_two_imports_section(bin_, data))
    return out


def _probe_run(bin_, d, rows, batch, seed, foreign):
    """One lossy import and its `reconcile --probe`: (unknown, recovered, still, requests, wrong)."""
    _fresh(d)
    # A window wide enough for the whole figure: it measures requests, not pacing.
    extra = ["--faults", "commit-drop:0.1", "--seed", str(seed), "--rate-limit", "100000/h"]
    if foreign:
        extra += ["--foreign-writes", str(foreign)]
    proc, url = _sandbox(bin_, extra)
    try:
        run = _Run(bin_, d, url, os.path.join(d, "kayse.ledger.sqlite"))
        _write(os.path.join(d, "cases.csv"), rows)
        wide = ["--rate-limit", "100000/h"]
        run("import", "cases.csv", "--results", "r.csv", "--batch-size", str(batch), *wide)
        unknown = sum(r["kayse_result"] == "unknown" for r in _results(os.path.join(d, "r.csv")))
        _config(url, {"faults": ""})
        rec = run("reconcile", "r.csv", "--probe", *wide)
        after = _results(os.path.join(d, "r.csv"))
        server = {}
        for c in _get(url + "/sandbox/state")["cases"]:
            server.setdefault(c["case_number"], []).append(str(c["id"]))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    still = sum(r["kayse_result"] == "unknown" for r in after)
    wrong = sum(1 for r in after if r["kayse_id"] and server.get(r["case_number"]) != [r["kayse_id"]])
    return unknown, unknown - still, still, rec["requests"], wrong


def _config(url, body):
    req = urllib.request.Request(url + "/sandbox/config", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"}, method="POST")
    urllib.request.urlopen(req).read()


def _probe_section(bin_, data, rows=2000, batch=10):
    out = [f"## 7. The ledger: `reconcile --probe` after commit-drop faults ({rows:,} rows, batch {batch}, "
           "10% commit-drop, concurrency 4)\n"]
    out.append("Foreign writes: the sandbox's `--foreign-writes RATE`: before each id it hands out, with "
               "probability RATE another integration takes one to three ids, so the gaps next to a lost "
               "request also hold other writers' cases, which match no row. The seed fixes the faults' draws, "
               "not the order in which four requests in flight reach the server, so the counts differ from run "
               "to run.\n")
    out.append("| foreign writes | seed | unknown after import | recovered | still unknown | requests spent "
               "| per recovered row | wrong ids |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
    met = {"recovered": [], "cost": [], "wrong": []}
    for foreign in (0, 0.1, 0.3):
        for seed in (11, 12, 13):
            d = os.path.join(data, f"probe-{foreign}-{seed}")
            unknown, got, still, req, wrong = _probe_run(bin_, d, rows, batch, seed, foreign)
            per = req / got if got else 0
            share = 100 * got / unknown if unknown else 100
            tag = f"{foreign:g}" if foreign else "none"
            out.append(f"| {tag} | {seed} | {unknown} | {got} ({share:.1f}%) | {still} | {req} | {per:.2f} | {wrong} |")
            met["recovered"].append((tag, seed, share >= 95))
            met["cost"].append((tag, seed, per <= 1.5))
            met["wrong"].append((tag, seed, wrong == 0))
    out.append("")

    def say(key):
        bad = {}
        for t, seed, ok in met[key]:
            if not ok:
                bad.setdefault(t, []).append(str(seed))
        if not bad:
            return "met for every run"
        return "not met with " + "; ".join(
            f"{'no foreign writes' if t == 'none' else 'foreign writes ' + t}: seed {', '.join(v)}"
            for t, v in bad.items())

    out.append(f"- Goals: at least 95% of `unknown` rows recovered ({say('recovered')}); at most 1.5 requests "
               f"per recovered row ({say('cost')}); 0 wrong ids ({say('wrong')}). Every case read is kept "
               "only when its case number and external pair are the row's, so another writer's case is read "
               "(and paid for) but never taken. At a foreign-write rate of 0.3 about 0.6 other writers' ids sit "
               "beside each of the tool's, and each must be read to be ruled out, so no probe that never guesses "
               "can stay under 1.5 requests per row there; `--budget` bounds what it spends, and `--from` with an "
               "export costs nothing.\n")
    return out


def _together(bin_, d, url, runs):
    """Start every (args, ledger) at once; when all have ended: their exit codes and seconds."""
    procs = []
    for args, ledger in runs:
        env = dict(os.environ, KAYSE_BASE_URL=url, KAYSE_API_KEY="sandbox",
                   KAYSE_BULK_RETRY_BASE_MS="20", KAYSE_LEDGER=os.path.join(d, ledger))
        procs.append((time.monotonic(), subprocess.Popen(
            [bin_, "-q"] + list(args), env=env, cwd=d, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    out = [None] * len(procs)
    while None in out:
        for i, (t0, p) in enumerate(procs):
            if out[i] is None and p.poll() is not None:
                out[i] = (p.returncode, time.monotonic() - t0)
        time.sleep(0.02)
    return out


def _tally(path):
    if not os.path.exists(path):
        return {}
    n = {}
    for r in _results(path):
        n[r["kayse_result"]] = n.get(r["kayse_result"], 0) + 1
    return n


def _words(n):
    return ", ".join(f"{v} {k}" for k, v in sorted(n.items(), key=lambda kv: -kv[1])) or "no results file"


def _two_imports_section(bin_, data, rows=2000, overlap=1000, changed=500, batch=100):
    """Two imports of overlapping files started at the same moment, on a sandbox that allows
    duplicate case numbers, so only the ledger can keep a case number to one case."""
    out = [f"## 8. The ledger: two imports of overlapping files started together ({rows:,} rows each, "
           f"{overlap:,} in both, {changed} of those changed; batch {batch}; sandbox with "
           "`--allow-duplicate-case-numbers` and 50–100 ms latency)\n"]
    out.append("| runs started together | exit codes | requests | case numbers on the server | cases on the "
               "server | case numbers held twice | rows of the run that went second |")
    out.append("|---|---|---:|---:|---:|---:|---|")
    lo = rows - overlap + 1
    goals = []
    for name, wait, ledgers in (("same ledger, no `--wait`", False, ("l.sqlite", "l.sqlite")),
                                ("same ledger, both with `--wait`", True, ("l.sqlite", "l.sqlite")),
                                ("a ledger each (two laptops, no ledger shared)", False, ("a.sqlite", "b.sqlite"))):
        d = os.path.join(data, "two-" + ledgers[1].split(".")[0] + ("-wait" if wait else ""))
        _fresh(d)
        _write(os.path.join(d, "a.csv"), rows)
        with open(os.path.join(d, "b.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(HEAD)
            for i in range(lo, lo + rows):
                w.writerow([f"LB-{i:06d}", "bench", f"lb-{i}", "closed" if i < lo + changed else "active",
                            "civil", f"Case {i}"])
        proc, url = _sandbox(bin_, ["--allow-duplicate-case-numbers", "--latency", "50-100", "--seed", "3",
                                    "--rate-limit", "100000/h"])
        try:
            common = ["--batch-size", str(batch), "--rate-limit", "100000/h"] + (["--wait"] if wait else [])
            before = _get(url + "/sandbox/stats")["requests"]
            got = _together(bin_, d, url, [(["import", "a.csv", "--results", "a.results.csv"] + common, ledgers[0]),
                                           (["import", "b.csv", "--results", "b.results.csv"] + common, ledgers[1])])
            requests = _get(url + "/sandbox/stats")["requests"] - before
            cases = _get(url + "/sandbox/state")["cases"]
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
        numbers = {}
        for c in cases:
            numbers[c["case_number"]] = numbers.get(c["case_number"], 0) + 1
        twice = sum(1 for v in numbers.values() if v > 1)
        ta, tb = _tally(os.path.join(d, "a.results.csv")), _tally(os.path.join(d, "b.results.csv"))
        codes = " and ".join(f"{rc} ({t:.1f} s)" for rc, t in got)
        if ledgers[0] != ledgers[1]:
            second = "both created every row"
        else:
            # The run that went second is the one that found rows the other had created.
            later = [(x, t) for x, t in (("a.csv", ta), ("b.csv", tb)) if t.get("unchanged") or t.get("updated")]
            refused = [x for x, (rc, _) in zip(("a.csv", "b.csv"), got) if rc == 3]
            second = (f"{later[0][0]}: {_words(later[0][1])}" if later
                      else f"{' and '.join(refused) or 'none'} refused at once, sent nothing")
            goals.append((name, twice == 0))
        out.append(f"| {name} | {codes} | {requests} | {len(numbers):,} | {len(cases):,} | {twice} | {second} |")
    out.append("")
    ok = all(g for _, g in goals)
    out.append("- Goal: on a shared ledger every case number exists once "
               f"({'met' if ok else 'NOT met: ' + ', '.join(n for n, g in goals if not g)}); the second run "
               "refuses at once with exit 3 naming the first (pid, start time), or with `--wait` waits and then "
               "syncs, so the rows the first created are `unchanged` or `updated`, not created again (under the default "
               "`--update-blanks keep` each updated row costs a GET, hence the requests of the second line). The "
               "exit code of each run is followed by its time from start to end. The last line is the control: with no shared ledger the server, which here does not enforce unique case "
               "numbers, keeps both copies of every overlapping row.\n")
    return out


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--data", required=True)
    a = p.parse_args()
    print("\n".join(section(a.bin, a.data)))
