"""Measures awscreds (a release binary) against the IAM emulator at $AWSCREDS_TEST_ENDPOINT.

1. Commands that need no AWS call, on a database with 0 and with 100,000 leases (none due):
   wall time (median, p95) and peak memory. They must stay a few milliseconds whatever the size.
2. Issuing credentials (`read creds/ROLE`: CreateUser, PutUserPolicy, CreateAccessKey).
3. Sweeping expired leases: leases revoked per second.

Usage: scripts/bench [--quick]   (numbers vary with the machine; compare runs on one machine)
"""

import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

BIN = sys.argv[1]
QUICK = "--quick" in sys.argv
ENDPOINT = os.environ["AWSCREDS_TEST_ENDPOINT"]
POLICY = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}'


def clean_env(db):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AWSCREDS_"))}
    env["AWSCREDS_DB"] = db
    return env


def run(db, *args):
    """Runs awscreds once; returns (seconds, stdout)."""
    start = time.perf_counter()
    proc = subprocess.run([BIN, *args], env=clean_env(db), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"awscreds {' '.join(args)} failed: {proc.stderr}")
    return elapsed, proc.stdout


def timed(db, args, n):
    """Median and p95 wall time in ms, and peak RSS in MiB, over n runs."""
    times, peak = [], 0
    for _ in range(n):
        start = time.perf_counter()
        proc = subprocess.Popen([BIN, *args], env=clean_env(db),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append((time.perf_counter() - start) * 1000)
        peak = max(peak, usage.ru_maxrss)
        if status != 0:
            sys.exit(f"awscreds {' '.join(args)} failed")
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], peak / 1024


def setup(dirname, role):
    db = os.path.join(dirname, "awscreds.db")
    run(db, "mount", "aws")
    run(db, "write", "aws/config/root", "access_key=AKIABENCH", "secret_key=bench",
        "region=us-east-1", f"iam_endpoint={ENDPOINT}")
    run(db, "write", f"aws/roles/{role}", f"policy={POLICY}")
    return db


def add_leases(db, n):
    """Adds n active leases, due in a year, straight into the database."""
    far = int(time.time()) + 365 * 86400
    conn = sqlite3.connect(db)
    conn.executemany(
        "INSERT INTO leases (id, mount, role, iam_user, access_key_id, state, issued_at, "
        "expires_at, max_expires_at, due_at) VALUES (?, 'aws', 'bench', ?, 'AKIA', 'active', 0, ?, ?, ?)",
        ((f"aws/creds/bench/{uuid.uuid4()}", f"awscreds-bench-{i}", far, far, far) for i in range(n)),
    )
    conn.commit()
    conn.close()


def main():
    tmp = tempfile.mkdtemp(prefix="awscreds-bench-")
    try:
        n = 30 if QUICK else 200
        print(f"awscreds benchmark ({BIN}), {n} runs per command\n")
        print(f"{'command':34} {'leases':>8} {'median ms':>10} {'p95 ms':>8} {'peak MiB':>9}")
        for leases in (0, 100_000):
            d = os.path.join(tmp, f"local{leases}")
            os.mkdir(d)
            db = setup(d, "bench")
            add_leases(db, leases)
            for args in (["--help"], ["read", "aws/roles/bench"], ["list", "aws/roles/"],
                         ["read", "aws/config/lease"], ["mounts"]):
                med, p95, mib = timed(db, args, n)
                print(f"{' '.join(args):34} {leases:>8} {med:>10.2f} {p95:>8.2f} {mib:>9.1f}")

        d = os.path.join(tmp, "issue")
        os.mkdir(d)
        db = setup(d, "bench_issue")
        issues = 20 if QUICK else 100
        med, p95, mib = timed(db, ["read", "aws/creds/bench_issue"], issues)
        print(f"\nissue: read aws/creds/bench_issue x{issues}: median {med:.1f} ms, p95 {p95:.1f} ms, "
              f"peak {mib:.1f} MiB (3 IAM calls each)")

        run(db, "write", "aws/config/lease", "lease=1s", "lease_max=1h")
        expiring = 50 if QUICK else 300
        for _ in range(expiring):
            run(db, "read", "aws/creds/bench_issue")
        time.sleep(2)
        total = issues + expiring
        # The 1h leases from the issue run are not due; make them due too.
        conn = sqlite3.connect(db)
        conn.execute("UPDATE leases SET due_at = 0, expires_at = 0")
        conn.commit()
        conn.close()
        elapsed, out = run(db, "sweep")
        print(f"sweep: {out.strip()} in {elapsed:.2f} s: {total / elapsed:.0f} leases/s "
              f"(sequential; 3-5 IAM calls each)")
    finally:
        shutil.rmtree(tmp)


main()
