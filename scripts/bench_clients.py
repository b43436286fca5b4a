"""Section 10 of BENCHMARKS.md: a case sheet that names its clients, imported with them. Requests
counted by the sandbox, links checked against its state. Standard library only."""
import csv, json, os, statistics, subprocess, time, urllib.request

import bench_common

FIRST = ["Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana"]
FAULTS = "500:0.025,503:0.025,drop:0.025,commit-drop:0.025"


def last(p):
    n, s = p, "Lee"
    while True:
        s += chr(ord("a") + n % 26)
        n //= 26
        if n == 0:
            return s


def person_name(p):
    return f"{FIRST[p % 8]} {last(p)}"


def people_sheet(path, rows, people, prefix="P", start=0):
    """Row i names person start + (i % people). Every third person has a client number and, on a
    second row, nothing else; the others are written the second time with their email in capitals
    and their phone in another format (as the tests' sheet)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case_number", "external_source", "external_source_id", "status", "type",
                    "Client First Name", "Client Last Name", "Client Email", "Client Phone", "Client ID"])
        for i in range(rows):
            p = start + i % people
            again = i >= people
            ph = 2_000_000 + p
            fi, la = FIRST[p % 8], last(p)
            em = f"{fi.lower()}.{la}@example.com"
            if p % 3 == 0:
                cells = ["", "", "", "", f"C{p}"] if again else \
                    [fi, la, em, f"(404) {ph // 10000}-{ph % 10000:04}", f"C{p}"]
            elif again:
                cells = [fi, la, em.upper(), f"404.{ph // 10000}.{ph % 10000:04}", ""]
            else:
                cells = [fi, la, em, f"+1 404 {ph // 10000} {ph % 10000:04}", ""]
            w.writerow([f"{prefix}-{i:04}", "firm", f"{prefix}{i}", "active", "civil"] + cells)
    return path


def person_of_case(n, people, start=0):
    return start + int(n.split("-")[1]) % people


def import_(bin_, env, src, res):
    for f in (res, res + ".journal", res + ".clients.csv"):
        if os.path.exists(f):
            os.remove(f)
    t0 = time.monotonic()
    p = subprocess.run([bin_, "-q", "import", src, "--results", res, "--batch-size", "100"],
                       env=env, capture_output=True, text=True)
    return p.returncode, time.monotonic() - t0


def check(state, table, people, start=0):
    """Clients made twice (one external id, two records), cases linked to someone else, and
    clients the server holds that the table neither shows nor reports in doubt."""
    clients = {c["id"]: c for c in state["clients"]}
    by_ext = {}
    for c in clients.values():
        by_ext.setdefault(c["external_source_id"], []).append(c["id"])
    twice = sum(len(v) - 1 for v in by_ext.values())
    wrong = 0
    for c in state["cases"]:
        if not c["case_number"].startswith("P-"):
            continue
        names = sorted(f"{clients[i]['first_name']} {clients[i]['last_name']}" for i in c.get("client_ids") or [])
        if names != [person_name(person_of_case(c["case_number"], people, start))]:
            wrong += 1
    shown = {int(r["kayse_id"]) for r in table if r["kayse_id"]}
    in_doubt = sum(1 for r in table if r["kayse_result"] == "unknown")
    unaccounted = max(0, sum(1 for i in clients if i not in shown) - in_doubt)
    return twice, wrong, unaccounted


def read(path):
    with open(path, encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def counts(rows):
    out = {}
    for r in rows:
        out[r["kayse_result"]] = out.get(r["kayse_result"], 0) + 1
    return out


def section(bin_, data, runs):
    src = people_sheet(os.path.join(data, "linked-2000.csv"), 2000, 1200)
    lines = ["## 10. Clients with their cases (2,000 case rows naming 1,200 people, batch 100)\n",
             "The sheet names each person once or twice: a third of them by their client number alone the "
             "second time, the others with their email in capitals and their phone in another format. "
             "Requests are counted by the sandbox.\n",
             "| run | median time | client bulk requests | case bulk requests | other requests | clients on the server | clients made twice | cases linked to someone else |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    clean, times = None, []
    for k in range(runs):
        proc, url = bench_common.sandbox(bin_, [])
        try:
            env = dict(os.environ, KAYSE_BASE_URL=url, KAYSE_API_KEY="sandbox",
                       KAYSE_LEDGER=os.path.join(data, f"linked-{k}.ledger"))
            for f in (env["KAYSE_LEDGER"],):
                if os.path.exists(f):
                    os.remove(f)
            res = os.path.join(data, "linked.results.csv")
            rc, el = import_(bin_, env, src, res)
            times.append(el)
            stats = bench_common.get(url + "/sandbox/stats")
            again_rc, again_el = import_(bin_, env, src, os.path.join(data, "linked.again.results.csv"))
            stats2 = bench_common.get(url + "/sandbox/stats")
            state = bench_common.get(url + "/sandbox/state")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        if clean is None:
            table = read(res + ".clients.csv")
            clean = dict(rc=rc, stats=stats, again=stats2["requests"] - stats["requests"], again_rc=again_rc,
                         again_el=again_el, check=check(state, table, 1200), clients=len(state["clients"]))
    by = clean["stats"]["by_route"]
    cb, kb = by.get("POST /v1/clients/bulk", 0), by.get("POST /v1/cases/bulk", 0)
    other = clean["stats"]["requests"] - cb - kb
    twice, wrong, _ = clean["check"]
    lines.append(f"| first import | {statistics.median(times):.2f} s | {cb} | {kb} | {other} | {clean['clients']} | {twice} | {wrong} |")
    lines.append(f"| the same sheet again | {clean['again_el']:.2f} s | 0 | 0 | {clean['again']} | {clean['clients']} | {twice} | {wrong} |")
    lines.append("")
    met = cb == 12 and kb == 20 and other == 0 and clean["again"] == 0 and twice == 0 and wrong == 0 \
        and clean["clients"] == 1200
    lines.append(f"- Goal, exactly 1,200 clients and 2,000 cases in ⌈1,200 ÷ 100⌉ + ⌈2,000 ÷ 100⌉ = 32 requests, "
                 f"each case linked to exactly its person, and 0 requests for the re-run: **{'met' if met else 'not met'}** "
                 f"({cb} + {kb} + {other} requests; the re-run made {clean['again']}).\n")
    lines += faults_part(bin_, data, src)
    lines += reuse_part(bin_, data)
    return lines


def faults_part(bin_, data, src):
    lines = ["### Under 10% faults (500, 503, drop and commit-drop at 2.5% each)\n",
             "A client create whose answer was lost is never sent again (Kayse would make a second client): "
             "its client is `unknown`, and its cases are `failed` until the client is reconciled. Each seed is "
             "a different run of faults. Then, with the faults still on, the same sheet is imported again; "
             "then `reconcile RESULTS --probe` looks for the clients in doubt (faults off), and a last import "
             "sends the cases that waited for them.\n",
             "| seed | requests | faults | clients created | clients unknown | cases created | cases failed | cases unknown | re-run: new clients | reconcile: clients found | probe reads | last import: cases created, still unknown | clients made twice | cases linked to someone else | clients unaccounted for |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ok = True
    for seed in (3, 7, 11):
        proc, url = bench_common.sandbox(bin_, ["--faults", FAULTS, "--seed", str(seed)])
        try:
            env = dict(os.environ, KAYSE_BASE_URL=url, KAYSE_API_KEY="sandbox", KAYSE_BULK_RETRY_BASE_MS="50",
                       KAYSE_LEDGER=os.path.join(data, f"linked-faults-{seed}.ledger"))
            if os.path.exists(env["KAYSE_LEDGER"]):
                os.remove(env["KAYSE_LEDGER"])
            res = os.path.join(data, f"linked-faults-{seed}.results.csv")
            import_(bin_, env, src, res)
            stats = bench_common.get(url + "/sandbox/stats")
            first = len(bench_common.get(url + "/sandbox/state")["clients"])
            table, rows = read(res + ".clients.csv"), read(res)
            res2 = os.path.join(data, f"linked-faults-{seed}.again.results.csv")
            import_(bin_, env, src, res2)
            new = len(bench_common.get(url + "/sandbox/state")["clients"]) - first
            # The faults off: find the clients in doubt, then send the cases that waited.
            req = urllib.request.Request(url + "/sandbox/config", data=json.dumps({"faults": ""}).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
            urllib.request.urlopen(req).read()
            before = bench_common.get(url + "/sandbox/stats")["requests"]
            subprocess.run([bin_, "-q", "reconcile", res, "--probe"], env=env, capture_output=True)
            reads = bench_common.get(url + "/sandbox/stats")["requests"] - before
            found = sum(1 for r in read(res + ".clients.csv") if r["kayse_result"] == "created") - \
                sum(1 for r in table if r["kayse_result"] == "created")
            res3 = os.path.join(data, f"linked-faults-{seed}.last.results.csv")
            import_(bin_, env, src, res3)
            last = counts(read(res3))
            state = bench_common.get(url + "/sandbox/state")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        cl, ca = counts(table), counts(rows)
        twice, wrong, unacc = check(state, read(res3 + ".clients.csv"), 1200)
        ok &= twice == 0 and wrong == 0 and unacc == 0
        faults = ", ".join(f"{k} {v}" for k, v in sorted(stats.get("faults", {}).items()) if v)
        lines.append(f"| {seed} | {stats['requests']} | {faults} | {cl.get('created', 0)} | {cl.get('unknown', 0)} | "
                     f"{ca.get('created', 0)} | {ca.get('failed', 0)} | {ca.get('unknown', 0)} | {new} | "
                     f"{found} of {cl.get('unknown', 0)} | {reads} | {last.get('created', 0)}, {last.get('unknown', 0)} | {twice} | {wrong} | {unacc} |")
    lines.append("")
    lines.append(f"- Goal, no client created twice, no case linked to a wrong client, every client or case in doubt "
                 f"reported: **{'met' if ok else 'not met'}**. *Clients unaccounted for*: clients the server holds "
                 "that the last clients table neither shows with their id nor reports `unknown`. *Probe reads*: "
                 "the GETs `reconcile --probe` spent, for the clients and the cases in doubt alike.\n")
    return lines


def reuse_part(bin_, data):
    """A second sheet naming 100 people of the first and 100 new ones."""
    first = people_sheet(os.path.join(data, "linked-week1.csv"), 300, 300, prefix="P")
    second = people_sheet(os.path.join(data, "linked-week2.csv"), 200, 200, prefix="W", start=200)
    proc, url = bench_common.sandbox(bin_, [])
    try:
        env = dict(os.environ, KAYSE_BASE_URL=url, KAYSE_API_KEY="sandbox",
                   KAYSE_LEDGER=os.path.join(data, "linked-reuse.ledger"))
        if os.path.exists(env["KAYSE_LEDGER"]):
            os.remove(env["KAYSE_LEDGER"])
        import_(bin_, env, first, os.path.join(data, "linked-week1.results.csv"))
        before = bench_common.get(url + "/sandbox/stats")["requests"]
        res = os.path.join(data, "linked-week2.results.csv")
        import_(bin_, env, second, res)
        stats = bench_common.get(url + "/sandbox/stats")
        state = bench_common.get(url + "/sandbox/state")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    table = counts(read(res + ".clients.csv"))
    cases = {c["id"]: c["case_number"] for c in state["cases"]}
    kept = 0
    for c in state["clients"]:
        nums = {cases.get(i, "") for i in c.get("case_ids") or []}
        if any(n.startswith("P-") for n in nums) and any(n.startswith("W-") for n in nums):
            kept += 1
    reqs = stats["requests"] - before
    met = table.get("reused", 0) == 100 and table.get("created", 0) == 100 and kept == 100 and reqs == 3
    return ["### A second sheet naming known clients\n",
            "Week one imports 300 cases of 300 people; week two, 200 cases: 100 of week one's people "
            "(those with an email or a phone are found by it, the others by their client number) and 100 "
            "new ones.\n",
            "| week two: requests | clients reused | clients created | reused clients linked to both weeks' cases |",
            "|---:|---:|---:|---:|",
            f"| {reqs} | {table.get('reused', 0)} | {table.get('created', 0)} | {kept} |",
            "",
            f"- Goal, the known clients reused with their links kept, ⌈100 ÷ 100⌉ + ⌈200 ÷ 100⌉ = 3 requests: "
            f"**{'met' if met else 'not met'}**.\n"]
