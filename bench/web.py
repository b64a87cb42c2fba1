"""Web load benchmark (issue 12): 20 signed-in users browse the lists while two uploads and a run go on, against
`assess serve` on 127.0.0.1. Run by hand, not by `make test`.

`python bench/web.py` takes the demo's store (`assess demo`, built once into bench/data/ and reused while the code
and data it is made from are unchanged), copies it into a temporary folder, adds the bench's users there with `assess
user add` and `assess user token` (2 province users, one city user for each of the 16 cities, 2 analysts), writes two
upload files with the project's synthetic generator (what `assess sample` writes) and starts `assess serve` on a free
port of 127.0.0.1. Then every user signs in and browses (lists with and without filters, 目标进展, 上传记录, a firm's
page, /api/lists and /api/stats with the user's token), pausing between requests as a person does, while a province
user uploads one file, the 济南 user another and the province user starts a run of 2024, each followed to its end
through /jobs/ID/state as the upload page does. The users browse until the three jobs are done and each has made
MIN_REQUESTS requests, within LOAD_LIMIT_S.

Every request's status and wall time are recorded. The checks: no request failed (an HTTP status other than the one
expected, or no answer), both uploads are stored with their counts and every firm they hold is in force for 2024,
the run ended `done` and stored a new run of 2024 that read both uploads, and the server logged no error. The server
is stopped at the end in every case (its peak RSS, VmHWM, is read first) and the web section of bench/RESULTS.md is
rewritten.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from common import (  # bench/common.py, beside this script
    DATA_DIR,
    MB,
    PROJECT_DIR,
    RESULTS_PATH,
    ensure_built,
    machine,
    section_head,
    verdict,
    write_section,
)

HEADING = "## Web (bench/web.py)"
PACKAGES = ("fastapi", "starlette", "uvicorn", "httpx", "duckdb", "polars")  # whose versions RESULTS.md gives
HOST = "127.0.0.1"
YEAR = 2024
PROVINCE_USERS, ANALYSTS = 2, 2  # with one city user per city (16): 20 users browsing
PASSWORD_BYTES = 12
UPLOAD_ENTERPRISES = 2000  # the province file; the city file holds that city's firms of another panel this size
PROVINCE_SEED, CITY_SEED = 1, 2  # the demo's panel has seed 20240601 (scripts/build_sample_data.py)
UPLOAD_CITY = "济南"
MIN_REQUESTS = 20  # each user's, counted after signing in; it browses on while a job is not done
THINK_S = (2.0, 5.0)  # a user's pause before each request, drawn uniformly: a glance at the page
POLL_S = 0.7  # how often a job's state is asked for, as the upload page's script does
LOAD_LIMIT_S = 300  # the load ends by then, jobs done or not
SIGN_IN_LIMIT_S = 300  # every user signed in and ready by then
REQUEST_TIMEOUT_S = 120  # a request without an answer by then has failed
# A client drops a connection idle this long, well before the server closes it (`assess serve` keeps an idle
# connection 30 s). A request sent just as the server closes the connection is reset; a browser sends it again on a
# new connection, unseen by its user, which httpx does not.
KEEPALIVE_S = 4.0
SERVER_START_S = 120
SERVER_STOP_S = 60
FAILURES_SHOWN = 20  # failed requests and server log lines listed in RESULTS.md
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Which requests each user makes, and how often (weights): the lists most, as the issue says.
MENU = (
    ("/lists", 3),
    ("/lists?city=", 1),
    ("/lists?status=", 1),
    ("/lists?chain=", 1),
    ("/firms/{code}", 2),
    ("/targets", 1),
    ("/uploads", 1),
    ("/api/lists", 1),
    ("/api/stats", 1),
)
STATUSES = ("selected", "near", "eligible", "excluded", "unknown")  # the list statuses a user filters by
FIRM_STATUSES = ("selected", "near", "eligible")  # the firms whose pages a user opens: those of these statuses
KINDS = ("page", "api", "sign-in", "write", "poll")
KIND_TITLES = {
    "page": "page (GET, HTML)",
    "api": "/api/ (GET, token)",
    "sign-in": "sign-in (GET and POST /signin)",
    "write": "upload and run (POST)",
    "poll": "job state (GET /jobs/ID/state)",
}
# The demo store: the demo folder's database and the folders beside it (kept files, models), as one archive.
STORE_NAME = "assess.duckdb"
DEMO_PATH = DATA_DIR / "web_demo_store.tar"
FACES = ("cli", "web", "__pycache__")  # what the store does not depend on
DEMO_SOURCES = (
    *(f"assess/{p.name}" for p in sorted((PROJECT_DIR / "assess").iterdir()) if p.name not in FACES),
    "schemas",
    "rules",
    "sample_data",
)
# Settings of the user's environment that would change what the commands do; ASSESS_LOG is set to a file of the
# temporary folder, which the checks read.
UNSET = ("ASSESS_DB", "ASSESS_RULES", "ASSESS_LOG")
# Thread limits the caller's environment may pass to the server: RESULTS.md says which were set.
THREAD_LIMITS = ("OMP_NUM_THREADS", "POLARS_MAX_THREADS")


class LoadFailed(Exception):
    """A step the load cannot go on without (signing in, finding a csrf token) did not work."""


# --- set-up -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    name: str
    role: str  # province, city, analyst
    city: str | None
    password: str
    token: str


@dataclass(frozen=True)
class Upload:
    path: Path
    by: Account
    codes: frozenset[str]  # the credit codes of its rows, one row per firm


@dataclass(frozen=True)
class Setup:
    folder: Path
    env: dict[str, str]  # of the `assess` commands and the server
    db: Path
    log: Path  # ASSESS_LOG of the server
    accounts: list[Account]
    uploads: list[Upload]
    cities: list[str]
    chains: list[str]


def assess_script() -> Path:
    script = Path(sys.executable).with_name("assess")
    if not script.is_file():
        raise SystemExit(f"no `assess` script beside {sys.executable}: run this with the project's .venv/bin/python")
    return script


def environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in UNSET}


def _check(command: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    completed = subprocess.run(command, cwd=PROJECT_DIR, env=env, input=stdin, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr}")
    return completed.stdout


def build_demo(path: Path, _digest: str) -> None:
    """`assess demo` into a temporary folder, its database and the folders beside it archived at `path`."""
    env = environment()
    with tempfile.TemporaryDirectory(prefix="assess-bench-web-demo-") as tmp:
        out = Path(tmp) / "demo"
        _check([str(assess_script()), "demo", "--dir", str(out)], env)
        with tarfile.open(path, "w") as archive:
            for part in sorted(out.glob(f"{STORE_NAME}*")):
                archive.add(part, arcname=part.name)


def prepare(folder: Path, archive: Path) -> Setup:
    """The demo store (`archive`) copied into `folder`, the bench's users added to it and the two upload files
    written."""
    from assess.contract import load_contract

    contract = load_contract()
    cities = list(dict.fromkeys(contract.cities.values()))
    db, log = folder / "store" / STORE_NAME, folder / "assess.log"
    env = {**environment(), "ASSESS_LOG": str(log)}
    with tarfile.open(archive) as store:
        store.extractall(db.parent, filter="data")
    print("adding the users ...", file=sys.stderr, flush=True)
    wanted = [
        *((f"bench-province-{i}", "province", None) for i in range(1, PROVINCE_USERS + 1)),
        *((f"bench-city-{city}", "city", city) for city in cities),
        *((f"bench-analyst-{i}", "analyst", None) for i in range(1, ANALYSTS + 1)),
    ]
    accounts = [add_account(name, role, city, db, env) for name, role, city in wanted]
    province = next(a for a in accounts if a.role == "province")
    city_user = next(a for a in accounts if a.city == UPLOAD_CITY)
    print("writing the upload files ...", file=sys.stderr, flush=True)
    uploads = [
        write_upload(folder / f"province_{YEAR}_{UPLOAD_ENTERPRISES}.xlsx", province, PROVINCE_SEED, None),
        write_upload(folder / f"{UPLOAD_CITY}_{YEAR}.xlsx", city_user, CITY_SEED, UPLOAD_CITY),
    ]
    if uploads[0].codes & uploads[1].codes:
        raise SystemExit("the two upload files share firms: the later would replace the earlier's filings")
    return Setup(folder, env, db, log, accounts, uploads, cities, list(contract.chains))


def add_account(name: str, role: str, city: str | None, db: Path, env: dict[str, str]) -> Account:
    """`assess user add` (the password on stdin) and `assess user token` (the token on its last line)."""
    assess = str(assess_script())
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    where = ["--city", city] if city else []
    _check([assess, "user", "add", name, "--role", role, *where, "--db", str(db)], env, password + "\n")
    token = _check([assess, "user", "token", name, "--db", str(db)], env).strip().splitlines()[-1]
    return Account(name, role, city, password, token)


def write_upload(path: Path, by: Account, seed: int, city: str | None) -> Upload:
    """A synthetic panel of one year (`assess sample`'s generator and writer), cut to one city's firms if given."""
    import polars as pl

    from assess.synthetic.panel import generate_panel
    from assess.synthetic.writers import write_panel

    panel = generate_panel(UPLOAD_ENTERPRISES, YEAR, YEAR, seed)
    if city is not None:
        panel = panel.filter(pl.col("city") == city)
    write_panel(panel, path)
    return Upload(path, by, frozenset(panel["credit_code"].to_list()))


# --- the server ---------------------------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    stderr: Path

    def peak_rss_mb(self) -> float:
        """VmHWM of the server process: its peak resident set size so far."""
        found = re.search(r"^VmHWM:\s*(\d+) kB", Path(f"/proc/{self.process.pid}/status").read_text(), re.MULTILINE)
        assert found is not None, "no VmHWM in /proc/PID/status"
        return int(found.group(1)) * 1024 / MB

    def cpu_seconds(self) -> float:
        """User + system time of the server process so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(setup: Setup) -> Iterator[Server]:
    """`assess serve` on a free port of 127.0.0.1 until /signin answers; stopped (Ctrl+C, then killed if it lingers)
    when the block ends, however it ends."""
    port = free_port()
    command = [str(assess_script()), "serve", "--host", HOST, "--port", str(port), "--db", str(setup.db)]
    stderr = setup.folder / "serve.stderr"
    with stderr.open("wb") as err:
        process = subprocess.Popen(command, cwd=setup.folder, env=setup.env, stdout=subprocess.DEVNULL, stderr=err)
    server = Server(process, f"http://{HOST}:{port}", stderr)
    try:
        wait_for(server)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=SERVER_STOP_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(server: Server) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"assess serve ended ({server.process.returncode}):\n{server.stderr.read_text()}")
        try:
            if httpx.get(f"{server.base}/signin", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"assess serve did not answer /signin within {SERVER_START_S} s")


# --- the simulated users ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    kind: str  # one of KINDS
    route: str  # the path without its ids and values, e.g. /firms/{code}
    status: int  # 0: no answer (a connection error or a timeout)
    seconds: float  # wall time from sending the request to the whole answer read
    failure: str | None  # what went wrong, None when the status was the one expected


class Session:
    """One user's client (its own cookies), recording every request it makes."""

    def __init__(self, base: str, account: Account) -> None:
        self.account = account
        limits = httpx.Limits(keepalive_expiry=KEEPALIVE_S)
        self.client = httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S, limits=limits)
        self.done: list[Request] = []
        self.csrf = ""

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def call(self, kind: str, route: str, method: str, url: str, expected: int, **kwargs: Any) -> httpx.Response | None:
        """The answer, or None (the failure recorded) when the status is not `expected` or none came."""
        start = time.perf_counter()
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            said = f"{method} {url}: {type(exc).__name__} {exc}"
            self.done.append(Request(kind, route, 0, time.perf_counter() - start, said))
            return None
        seconds = time.perf_counter() - start
        status = response.status_code
        failure = None if status == expected else f"{method} {url}: HTTP {status}"
        self.done.append(Request(kind, route, status, seconds, failure))
        return response if failure is None else None

    def api(self, path: str, **params: str | list[str]) -> httpx.Response | None:
        headers = {"Authorization": f"Bearer {self.account.token}"}
        return self.call("api", path, "GET", path, 200, params=params, headers=headers)

    def sign_in(self) -> None:
        """Sign in, and take the csrf token of a signed-in page (the session's token changes on signing in)."""
        form = self.call("sign-in", "GET /signin", "GET", "/signin", 200)
        data = {"name": self.account.name, "password": self.account.password, "csrf": csrf_of(form)}
        if self.call("sign-in", "POST /signin", "POST", "/signin", 303, data=data) is None:
            raise LoadFailed(f"{self.account.name} could not sign in: {self.done[-1].failure}")
        self.csrf = csrf_of(self.call("page", "/uploads", "GET", "/uploads", 200))


def csrf_of(page: httpx.Response | None) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text) if page is not None else None
    if found is None:
        raise LoadFailed("no csrf token on the page" if page is not None else "the page did not load")
    return found.group(1)


@dataclass
class Browsing:
    """What the users and the jobs share: the barrier at which the load begins once every one is signed in, when it
    began and ends, whether the jobs are done, and the names the users filter by."""

    parties: int
    cities: list[str]
    chains: list[str]
    jobs_done: threading.Event = field(default_factory=threading.Event)
    began: float = 0.0  # time.monotonic() when the barrier opened
    deadline: float = 0.0  # time.monotonic() at which the load ends, jobs done or not
    start: threading.Barrier = field(init=False)

    def __post_init__(self) -> None:
        self.start = threading.Barrier(self.parties, action=self._begin, timeout=SIGN_IN_LIMIT_S)

    def _begin(self) -> None:
        self.began = time.monotonic()
        self.deadline = self.began + LOAD_LIMIT_S

    def ready(self) -> None:
        self.start.wait()


def browse(base: str, account: Account, shared: Browsing) -> list[Request]:
    """Sign in, learn some firm codes from /api/lists, then browse until the jobs are done (and MIN_REQUESTS made)."""
    rng = random.Random(account.name)
    with Session(base, account) as session:
        try:
            session.sign_in()
            found = session.api("/api/lists", year=str(YEAR), status=list(FIRM_STATUSES))
            if found is None:
                raise LoadFailed(f"{account.name} could not read /api/lists: {session.done[-1].failure}")
            codes = sorted({firm["credit_code"] for firms in found.json().values() for firm in firms})
            if not codes:
                raise LoadFailed(f"{account.name} sees no firm in the {YEAR} lists")
            shared.ready()
        except BaseException:
            shared.start.abort()
            raise
        made = 0
        while (made < MIN_REQUESTS or not shared.jobs_done.is_set()) and time.monotonic() < shared.deadline:
            time.sleep(rng.uniform(*THINK_S))
            visit(session, rng, codes, shared)
            made += 1
        return session.done


def visit(session: Session, rng: random.Random, codes: list[str], shared: Browsing) -> None:
    """One request of MENU, drawn by its weight; a city user filters by its own city."""
    [route] = rng.choices([r for r, _ in MENU], weights=[w for _, w in MENU])
    year = str(YEAR)
    city = session.account.city or rng.choice(shared.cities)
    page: dict[str, tuple[str, dict[str, str]]] = {
        "/lists": ("/lists", {"year": year}),
        "/lists?city=": ("/lists", {"year": year, "city": city}),
        "/lists?status=": ("/lists", {"year": year, "status": rng.choice(STATUSES)}),
        "/lists?chain=": ("/lists", {"year": year, "chain": rng.choice(shared.chains)}),
        "/firms/{code}": (f"/firms/{rng.choice(codes)}", {"year": year}),
        "/targets": ("/targets", {"year": year}),
        "/uploads": ("/uploads", {}),
    }
    if route in page:
        url, params = page[route]
        session.call("page", route, "GET", url, 200, params=params)
    else:
        session.api(route, year=year)


# --- the uploads and the run --------------------------------------------------------------------------------------


@dataclass
class Job:
    title: str
    session: Session
    upload: Upload | None  # None for the run
    address: str | None = None  # /jobs/ID; None when it could not be submitted
    submitted: float = 0.0  # seconds since the load began
    started: float | None = None  # when its state was first seen other than queued
    ended: float | None = None  # when it was first seen done or failed
    state: str = "not submitted"
    step: str = ""  # the step it was at when last seen, and the share of the job done
    share: float = 0.0
    result: str | None = None  # the address the job made (an upload's 检查结果, the run's lists)
    error: str | None = None

    @property
    def wall_seconds(self) -> float | None:
        return None if self.ended is None else self.ended - self.submitted


def write_and_follow(base: str, setup: Setup, shared: Browsing) -> tuple[list[Job], list[Request]]:
    """The two uploads and the run, submitted as soon as every user is ready, each followed until it ends; then the
    page it leads to, as the browser goes there."""
    province_upload, city_upload = setup.uploads
    with Session(base, province_upload.by) as by_province, Session(base, city_upload.by) as by_city:
        try:
            by_province.sign_in()
            by_city.sign_in()
            shared.ready()
        except BaseException:
            shared.start.abort()
            raise
        jobs = [
            Job(f"upload {province_upload.path.name}", by_province, province_upload),
            Job(f"upload {city_upload.path.name}", by_city, city_upload),
            Job(f"run {YEAR}", by_province, None),
        ]
        try:
            for job in jobs:
                job.submitted = time.monotonic() - shared.began
                job.address = submit(job)
                if job.address is not None:
                    job.state = "queued"
            follow(jobs, shared)
        finally:
            shared.jobs_done.set()
        return jobs, by_province.done + by_city.done


def submit(job: Job) -> str | None:
    """The job's address (/jobs/ID), or None when it was not accepted."""
    session = job.session
    if job.upload is None:
        ran = session.call("write", "POST /runs", "POST", "/runs", 303, data={"csrf": session.csrf, "year": str(YEAR)})
        return ran.headers["location"] if ran is not None else None
    with job.upload.path.open("rb") as file:
        sent = session.call(
            "write",
            "POST /upload",
            "POST",
            "/upload",
            200,
            data={"csrf": session.csrf, "year": str(YEAR), "unit": ""},
            files=[("files", (job.upload.path.name, file, XLSX))],
            headers={"X-Requested-With": "assess"},
        )
    return str(sent.json()["job"]) if sent is not None else None


def follow(jobs: list[Job], shared: Browsing) -> None:
    """Ask each unfinished job's state every POLL_S until all are done or failed, or the load's time is up."""
    while time.monotonic() < shared.deadline:
        waiting = [j for j in jobs if j.address is not None and j.ended is None]
        if not waiting:
            return
        time.sleep(POLL_S)
        for job in waiting:
            answer = job.session.call("poll", "/jobs/{id}/state", "GET", f"{job.address}/state", 200)
            if answer is None:
                continue
            said = answer.json()
            now = time.monotonic() - shared.began
            job.state, job.result, job.error = said["state"], said["result"], said["error"]
            job.step, job.share = said["step"], said["share"]
            if job.started is None and job.state != "queued":
                job.started = now
            if job.state in ("done", "failed"):
                job.ended = now
                if job.result:
                    route = "/uploads/{id}" if job.upload is not None else "/lists"
                    job.session.call("page", route, "GET", job.result, 200)


# --- the load -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    requests: list[Request]
    jobs: list[Job]
    seconds: float  # from the first user signing in to the last one stopping
    client_cpu_seconds: float  # this process's user + system time meanwhile (its clients share the cores)
    server_cpu_seconds: float  # the server's, meanwhile


def run_load(server: Server, setup: Setup) -> Load:
    """Every user browsing in a thread of its own, and one more thread for the uploads and the run."""
    shared = Browsing(len(setup.accounts) + 1, setup.cities, setup.chains)
    started, server_cpu, client = time.monotonic(), server.cpu_seconds(), resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"{len(setup.accounts)} users signing in, then browsing while the uploads and the run go on ...",
        file=sys.stderr,
        flush=True,
    )
    with ThreadPoolExecutor(max_workers=len(setup.accounts) + 1) as pool:
        browsing = [pool.submit(browse, server.base, account, shared) for account in setup.accounts]
        writing = pool.submit(write_and_follow, server.base, setup, shared)
    futures: list[Future[Any]] = [writing, *browsing]
    failures = [e for f in futures if (e := f.exception()) is not None]
    if failures:  # the first that is not another thread's broken barrier says why
        raise next((e for e in failures if not isinstance(e, threading.BrokenBarrierError)), failures[0])
    jobs, written = writing.result()
    requests = [r for done in browsing for r in done.result()]
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = after.ru_utime + after.ru_stime - client.ru_utime - client.ru_stime
    return Load(requests + written, jobs, seconds, client_cpu, server.cpu_seconds() - server_cpu)


# --- the checks ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreState:
    """What the store file holds (read while no server holds it)."""

    runs: list[dict]  # the runs of YEAR, oldest first: run_id and the uploads each read
    filings: dict[int, int]  # filings in force by year


def store_state(db: Path) -> StoreState:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        runs = con.execute("SELECT run_id, manifest FROM runs WHERE year = ? ORDER BY run_id", [YEAR]).fetchall()
        filings = con.execute("SELECT year, count(*) FROM filings GROUP BY year ORDER BY year").fetchall()
    return StoreState(
        [{"run_id": run_id, "uploads": json.loads(manifest)["uploads"]} for run_id, manifest in runs],
        {int(year): int(count) for year, count in filings},
    )


@dataclass(frozen=True)
class Stored:
    """An upload as the server shows it after the load: its record and how many of its firms are in force."""

    upload: Upload
    record: dict | None  # its entry of /api/uploads, None when there is none
    in_force: int  # its firms among the filings of YEAR in force

    @property
    def committed(self) -> bool:
        """Stored with its counts (every row read and accepted) and every firm it holds in force."""
        rows = len(self.upload.codes)
        found = self.record
        return found is not None and (found["rows_read"], found["accepted"], self.in_force) == (rows, rows, rows)


def stored_uploads(base: str, setup: Setup) -> list[Stored]:
    """Each upload's record in /api/uploads (by file name and user) and its firms among /api/filings?year=YEAR, asked
    for with a province user's token after the load."""
    province = setup.uploads[0].by
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {province.token}"}, timeout=REQUEST_TIMEOUT_S
    ) as client:
        records = client.get("/api/uploads").raise_for_status().json()
        filings = client.get("/api/filings", params={"year": str(YEAR)}).raise_for_status().json()
    in_force = {row["credit_code"] for row in filings}
    found = []
    for upload in setup.uploads:
        mine = [r for r in records if r["file_name"] == upload.path.name and r["uploaded_by"] == upload.by.name]
        found.append(Stored(upload, mine[-1] if mine else None, len(upload.codes & in_force)))
    return found


def error_lines(setup: Setup, server: Server) -> list[str]:
    """What the server logged: the library's log (ASSESS_LOG) and any traceback or error on its stderr."""
    logged = setup.log.read_text(encoding="utf-8").splitlines() if setup.log.exists() else []
    stderr = server.stderr.read_text(encoding="utf-8", errors="replace").splitlines()
    return logged + [line for line in stderr if re.search(r"Traceback|ERROR|Exception", line)]


@dataclass(frozen=True)
class Outcome:
    setup: Setup
    load: Load
    stored: list[Stored]
    before: StoreState
    after: StoreState
    errors: list[str]
    peak_rss_mb: float
    setup_seconds: float
    load_average: tuple[float, float]  # 1 minute, when the load began and when it ended

    @property
    def failed(self) -> list[Request]:
        return [r for r in self.load.requests if r.failure is not None]

    @property
    def new_runs(self) -> list[dict]:
        before = {r["run_id"] for r in self.before.runs}
        return [r for r in self.after.runs if r["run_id"] not in before]

    @property
    def run_job(self) -> Job:
        [job] = [j for j in self.load.jobs if j.upload is None]
        return job

    def run_stored(self) -> bool:
        """The run ended done, and stored one new run of YEAR that read both uploads."""
        ids = {s.record["upload_id"] for s in self.stored if s.record is not None}
        new = self.new_runs
        read = len(new) == 1 and len(ids) == len(self.stored) and ids <= set(new[0]["uploads"])
        return self.run_job.state == "done" and read

    def page_p95(self) -> float:
        return percentile([r.seconds for r in self.load.requests if r.kind == "page"], 0.95)

    def checks(self) -> list[tuple[str, str, bool]]:
        """(what, measured, met)."""
        new = ", ".join(str(r["run_id"]) for r in self.new_runs) or "none"
        return [
            (
                "no request failed (each answered, with the status expected)",
                f"{len(self.failed)} of {len(self.load.requests):,} failed",
                not self.failed,
            ),
            (
                f"no upload lost (stored, every row accepted, every firm in force for {YEAR})",
                f"{sum(s.committed for s in self.stored)} of {len(self.stored)} committed",
                all(s.committed for s in self.stored),
            ),
            (
                f"the run ended done and stored a new run of {YEAR} that read both uploads",
                f"state {self.run_job.state}; new run {new}",
                self.run_stored(),
            ),
            ("the server logged no error", f"{len(self.errors)} lines", not self.errors),
        ]


# --- RESULTS.md ---------------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie, interpolated linearly between the two closest."""
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def timing_row(labels: list[str], requests: list[Request]) -> str:
    seconds = [r.seconds for r in requests]
    failed = sum(r.failure is not None for r in requests)
    cells = [*labels, f"{len(requests):,}", str(failed)]
    cells += [f"{percentile(seconds, 0.5):.3f}", f"{percentile(seconds, 0.95):.3f}", f"{max(seconds):.3f}"]
    return "| " + " | ".join(cells) + " |"


def _at(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def section(outcome: Outcome) -> str:
    load, setup = outcome.load, outcome.setup
    requests = load.requests
    by_kind = [
        timing_row([KIND_TITLES[kind]], [r for r in requests if r.kind == kind])
        for kind in KINDS
        if any(r.kind == kind for r in requests)
    ]
    routes = sorted({(r.kind, r.route) for r in requests})
    by_route = sorted(
        ([r for r in requests if (r.kind, r.route) == key] for key in routes),
        key=lambda found: -percentile([r.seconds for r in found], 0.95),
    )
    route_rows = [timing_row([f"`{found[0].route}`", found[0].kind], found) for found in by_route]
    job_rows = [
        f"| {job.title} | {job.session.account.name} | {_at(job.submitted)} | {_at(job.started)} | {_at(job.ended)} "
        f"| {_at(job.wall_seconds)} | {job.state}{'' if job.ended else f' ({job.step} {job.share:.0%})'} "
        f"| {job.error or job.result or '—'} |"
        for job in load.jobs
    ]
    stored_rows = []
    for s in outcome.stored:
        found = s.record or {}
        counts = [found.get(key, "—") for key in ("upload_id", "rows_read", "accepted", "rejected", "warnings")]
        stored_rows.append(
            f"| {s.upload.path.name} | {s.upload.by.name} | {len(s.upload.codes):,} | "
            + " | ".join(f"{c:,}" if isinstance(c, int) else str(c) for c in counts)
            + f" | {s.in_force:,} |"
        )
    roles = {role: sum(a.role == role for a in setup.accounts) for role in ("province", "city", "analyst")}
    pages = [r for r in requests if r.kind == "page"]
    p95 = outcome.page_p95()
    failures = [f"- {r.failure} ({r.seconds:.3f} s)" for r in outcome.failed[:FAILURES_SHOWN]]
    errors = [f"    {line}" for line in outcome.errors[:FAILURES_SHOWN]]
    limits = ", ".join(f"{name}={setup.env[name]}" for name in THREAD_LIMITS if name in setup.env)
    menu = ", ".join(f"`{route}` ×{weight}" for route, weight in MENU)
    before, after = outcome.before, outcome.after
    lines = [
        *section_head(HEADING, __file__),
        f"Machine: {machine(PACKAGES)}. Load average (1 min) {outcome.load_average[0]:.2f} when the load began, "
        f"{outcome.load_average[1]:.2f} when it ended: the server, the clients of this benchmark and any other work "
        "on the machine share its cores. Thread limits in the server's environment: "
        + (limits or f"none ({', '.join(THREAD_LIMITS)} unset)")
        + ".",
        "",
        f"The server: `assess serve --host {HOST}` on a free port, one uvicorn process (pages and /api/ in its thread "
        "pool, uploads and runs in turn by its one writer thread), on a copy of the demo's store (`assess demo`: "
        + ", ".join(f"{count:,} filings of {year}" for year, count in before.filings.items())
        + f"; runs of {YEAR} before the load: {len(before.runs)}).",
        "",
        "The users, added with `assess user add` and `assess user token`: "
        f"{roles['province']} province users, {roles['city']} city users (one per city) and {roles['analyst']} "
        f"analysts, {len(setup.accounts)} in all, each a thread of this process with an httpx client and a session "
        f"of its own (an idle connection is dropped after {KEEPALIVE_S:g} s, before the server's keep-alive of 30 s "
        "ends it: see `KEEPALIVE_S`). Each signs in and reads its firms from `/api/lists` "
        f"({', '.join(FIRM_STATUSES)}); then, pausing {THINK_S[0]:g}–{THINK_S[1]:g} s (uniform) before each request, "
        f"it draws one of {menu} (weights; pages with `year={YEAR}`, a random city (a city user's own), status or "
        "chain as the route says; `/api/` with the user's token), until the three jobs are done and it has made at "
        f"least {MIN_REQUESTS} requests, within {LOAD_LIMIT_S} s.",
        "",
        f"When every user was signed in, a province user uploaded `{setup.uploads[0].path.name}` "
        f"({len(setup.uploads[0].codes):,} firms of {YEAR}, the generator of `assess sample` with seed "
        f"{PROVINCE_SEED}), the {UPLOAD_CITY} user `{setup.uploads[1].path.name}` (the {UPLOAD_CITY} firms of another "
        f"{UPLOAD_ENTERPRISES:,}-firm panel, seed {CITY_SEED}: {len(setup.uploads[1].codes):,}) and the province user "
        f"started a run of {YEAR}, all three at once through the pages (`POST /upload` as the upload page's script "
        f"sends it, `POST /runs`); each was followed through `/jobs/ID/state` every {POLL_S:g} s, as the upload page "
        "does, and its result page read once it was done.",
        "",
        f"The load lasted {load.seconds:.0f} s, signing in included: {len(requests):,} requests "
        f"({len(requests) / load.seconds:.1f} per second), {len(pages):,} of them pages. Server: "
        f"{load.server_cpu_seconds:.0f} s of CPU ({load.server_cpu_seconds / load.seconds:.2f} cores on average), "
        f"peak RSS {outcome.peak_rss_mb:,.0f} MB (VmHWM of the process, MB of 10^6 bytes, read before it stopped). "
        f"This process (the users' and the jobs' clients): {load.client_cpu_seconds:.0f} s of CPU. Set-up (the store "
        f"copied, the users added, the files written) took {outcome.setup_seconds:.0f} s before that.",
        "",
        "Seconds are each request's wall time in its client, from sending it to the whole answer read; p50 and p95 "
        "interpolate between the two closest requests.",
        "",
        "### Requests by kind",
        "",
        "| kind | requests | failed | p50 s | p95 s | max s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *by_kind,
        "",
        "### Requests by route, slowest p95 first",
        "",
        "| route | kind | requests | failed | p50 s | p95 s | max s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
        *route_rows,
        "",
        "### The uploads and the run",
        "",
        "Seconds since every user was signed in: when the job was submitted, first seen started and first seen ended "
        f"(to the nearest poll, every {POLL_S:g} s); wall is from submitted to ended, the wait behind the jobs before "
        "it included.",
        "",
        "| job | by | submitted s | started s | ended s | wall s | state | result |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |",
        *job_rows,
        "",
        f"After the load, `/api/uploads` and the firms among `/api/filings?year={YEAR}` (a province user's token):",
        "",
        "| file | by | firms | upload | rows read | accepted | rejected | warnings | firms in force |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *stored_rows,
        "",
        f"Runs of {YEAR} in the store: "
        + ", ".join(f"{r['run_id']} (read uploads {r['uploads']})" for r in after.runs)
        + f"; {len(outcome.new_runs)} new. Filings of {YEAR} in force: {before.filings.get(YEAR, 0):,} before, "
        f"{after.filings.get(YEAR, 0):,} after.",
        "",
        "### Checks",
        "",
        "| check | measured | |",
        "| --- | --- | --- |",
        *(f"| {what} | {measured} | {verdict(met)} |" for what, measured, met in outcome.checks()),
        f"| p95 page time under load (the issue sets no target) | {p95:.3f} s | — |",
        "",
    ]
    if failures:
        lines += [f"Failed requests (the first {FAILURES_SHOWN}):", "", *failures, ""]
    if errors:
        lines += [f"What the server logged (the first {FAILURES_SHOWN} lines):", "", *errors, ""]
    return "\n".join(lines)


# --- command line -------------------------------------------------------------------------------------------------


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    archive = ensure_built(DEMO_PATH, DEMO_SOURCES, "building the demo store", build_demo)
    with tempfile.TemporaryDirectory(prefix="assess-bench-web-") as tmp:
        started = time.monotonic()
        setup = prepare(Path(tmp), archive)
        before = store_state(setup.db)
        setup_seconds = time.monotonic() - started
        load_before = os.getloadavg()[0]
        try:
            with serving(setup) as server:
                load = run_load(server, setup)
                load_after = os.getloadavg()[0]
                stored = stored_uploads(server.base, setup)
                peak = server.peak_rss_mb()
        except LoadFailed as exc:
            raise SystemExit(f"The load could not go on: {exc}") from None
        errors = error_lines(setup, server)
        after = store_state(setup.db)
    outcome = Outcome(setup, load, stored, before, after, errors, peak, setup_seconds, (load_before, load_after))
    write_section(HEADING, section(outcome))
    print(f"wrote {RESULTS_PATH.relative_to(PROJECT_DIR)}: page p95 {outcome.page_p95():.3f} s", file=sys.stderr)
    unmet = [what for what, _, met in outcome.checks() if not met]
    if unmet:
        raise SystemExit("Not met: " + "; ".join(unmet))


if __name__ == "__main__":
    main()
