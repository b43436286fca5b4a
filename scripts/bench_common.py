"""What the bench scripts share: a sandbox started from the release binary on a free loopback port,
and reading its JSON admin endpoints. Standard library only."""
import json, re, subprocess, urllib.request


def sandbox(bin_, extra):
    """Start `kayse-bulk sandbox` with `extra` options: (the process, its base URL)."""
    proc = subprocess.Popen([bin_, "sandbox", "--listen", "127.0.0.1:0", "--quiet"] + extra,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.search(r"http://[0-9.:]+", line)
    if not m:
        proc.kill()
        raise SystemExit(f"sandbox did not start: {line!r}")
    return proc, m.group(0)


def get(url):
    """GET a JSON document (the sandbox's /sandbox/stats or /sandbox/state)."""
    with urllib.request.urlopen(url) as r:
        return json.load(r)
