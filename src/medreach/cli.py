"""The `medreach` command: serve, database migrations, users and the demo world."""

from __future__ import annotations

import getpass
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from medreach.core.settings import get_settings

app = typer.Typer(help="MedReach 医药电商精准营销平台", no_args_is_help=True)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
users_app = typer.Typer(help="User accounts", no_args_is_help=True)
catalog_app = typer.Typer(help="Products and search", no_args_is_help=True)
orders_app = typer.Typer(help="Orders", no_args_is_help=True)
pipeline_app = typer.Typer(help="The data pipeline: lake tables and jobs", no_args_is_help=True)
backup_app = typer.Typer(help="Backups of the database and the lake", no_args_is_help=True)
profiles_app = typer.Typer(help="Customer profiles: lifetime value", no_args_is_help=True)
insights_app = typer.Typer(help="Insights: experiments and what campaigns caused", no_args_is_help=True)
recommend_app = typer.Typer(help="Recommendation models and their offline evaluation", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(catalog_app, name="catalog")
app.add_typer(orders_app, name="orders")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(backup_app, name="backup")
app.add_typer(profiles_app, name="profiles")
app.add_typer(insights_app, name="insights")
app.add_typer(recommend_app, name="recommend")


def _progress(total: int | None, description: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return progress, progress.add_task(description, total=total)


def _database():
    from medreach.core.db import Database

    settings = get_settings()
    settings.ensure_dirs()
    return Database(settings.db_url)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="bind address")] = "",
    port: Annotated[int, typer.Option(help="port")] = 0,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
):
    """Serve the API, the storefront (/) and the console (/console)."""
    import uvicorn

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    # The app (created in each worker) reads these: links to the payment gateway follow the real port.
    os.environ["MEDREACH_HOST"], os.environ["MEDREACH_PORT"] = host, str(port)
    os.environ.setdefault("MEDREACH_GC_FREEZE", "true")
    get_settings.cache_clear()  # the app (made by uvicorn, here or in each worker) reads them afresh
    typer.echo(f"MedReach at http://{host}:{port}  (console: http://{host}:{port}/console)")
    uvicorn.run(
        "medreach.api:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        proxy_headers=False,
        timeout_keep_alive=30,
        backlog=4096,
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = "head"):
    """Apply migrations up to REVISION (default: the newest) and create the built-in roles."""
    from medreach.accounts.service import ensure_builtin_roles
    from medreach.core.migrate import upgrade
    from medreach.profiles.service import seed_catalogue

    db = _database()
    upgrade(db.url, revision)
    with db.session() as s:
        ensure_builtin_roles(s)
        seed_catalogue(s)
    typer.echo(f"database at {revision}: {db.engine.url.render_as_string(hide_password=True)}")


@users_app.command("create-admin")
def create_admin(
    login: Annotated[str, typer.Option(help="email or mainland mobile number")],
    password: Annotated[str, typer.Option(help="default: MEDREACH_ADMIN_PASSWORD or a prompt")] = "",
    name: str = "管理员",
):
    """Create an admin (or reset an existing login to admin with a new password)."""
    from medreach.accounts import schemas
    from medreach.accounts.service import create_admin as make_admin
    from medreach.core.errors import AppError
    from medreach.core.i18n import message

    password = password or os.environ.get("MEDREACH_ADMIN_PASSWORD") or getpass.getpass("password: ")
    email, phone = (login.lower(), None) if "@" in login else (None, login)
    if phone:
        try:
            phone = schemas._phone(phone)
        except ValueError as e:
            raise typer.BadParameter(str(e), param_hint="--login") from e
    with _database().session() as s:
        try:
            user = make_admin(s, email=email, phone=phone, password=password, name=name)
        except AppError as e:  # a weak password: the reason in the operator's words
            raise typer.BadParameter(message(e.code, "en", **e.params), param_hint="--password") from e
        typer.echo(f"admin ready: {user.login} (id {user.id})")


@catalog_app.command("import")
def catalog_import(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX file")],
    dry_run: Annotated[bool, typer.Option(help="check every row, write nothing")] = False,
):
    """Create or update products by SKU from a file with the export's columns; prints a per-row report."""
    from medreach.catalog import service as catalog
    from medreach.catalog.search import SearchIndex
    from medreach.catalog.synonyms import load_synonyms
    from medreach.core.errors import AppError

    try:
        rows = catalog.read_table(path.read_bytes(), path.name)
    except AppError as e:
        raise typer.BadParameter(e.code, param_hint="PATH") from e
    index = SearchIndex(get_settings().search_path, synonyms=load_synonyms())
    progress, task = _progress(len(rows), f"importing {path.name}")
    with progress, _database().session() as s:
        report = catalog.import_products(
            s, None, rows, dry_run=dry_run, index=index, progress=lambda n: progress.update(task, completed=n)
        )
    typer.echo(
        f"rows {report.rows}: created {report.created}, updated {report.updated}, "
        f"rejected {report.rejected}, banned from online sale {report.banned}"
        + (" (dry run: nothing written)" if dry_run else "")
    )
    for err in report.errors:
        typer.echo(f"  row {err.row} {err.sku or '-'} {err.field}: {err.message}")
    raise typer.Exit(1 if report.errors else 0)


@catalog_app.command("reindex")
def catalog_reindex():
    """Rebuild the search index from the database (after a restore or a bulk change made in SQL)."""
    from medreach.catalog import service as catalog
    from medreach.catalog.search import SearchIndex
    from medreach.catalog.synonyms import load_synonyms

    index = SearchIndex(get_settings().search_path, synonyms=load_synonyms())
    progress, task = _progress(None, "indexing products")
    with progress, _database().session() as s:
        n = catalog.rebuild_index(s, index, progress=lambda done: progress.update(task, completed=done))
    typer.echo(f"indexed {n} products")


@orders_app.command("expire")
def orders_expire():
    """Cancel unpaid or unreviewed orders past their deadline and release their stock (the server also
    does this every 30 s)."""
    from medreach.orders.service import expire_overdue
    from medreach.promotions.flash import make_flash_stock

    settings = get_settings()
    with _database().session() as s:
        typer.echo(
            f"cancelled {expire_overdue(s, make_flash_stock(settings.redis_url, settings.redis_prefix))} overdue orders"
        )


@app.command()
def demo(
    users: Annotated[
        int, typer.Option(help="simulated shoppers (1k to 1M; 0: none)", envvar="MEDREACH_DEMO_USERS")
    ] = 2000,
    days: Annotated[int, typer.Option(help="days of behaviour, ending yesterday (or the day before --end)")] = 365,
    seed: Annotated[int, typer.Option(help="the same seed and dates give the same world")] = 2026,
    end: Annotated[str, typer.Option(help="first day after the simulated period, YYYY-MM-DD (default: today)")] = "",
    via: Annotated[str, typer.Option(help="lake (bulk, fastest) or collector (through /v1/import)")] = "lake",
    url: Annotated[str, typer.Option(help="the collector's base URL (via collector)")] = "http://127.0.0.1:8000",
    write_key: Annotated[str, typer.Option(help="an import source's write key (via collector)")] = "",
    replace: Annotated[bool, typer.Option(help="replace a simulated world already in the lake")] = False,
):
    """Load the demo world (staff, a customer, the catalog, promotions; idempotent, printing the logins) and
    simulate shoppers' behaviour: browsing, searching, carts, orders, refills, reviews, holiday peaks."""
    from datetime import UTC, date

    from medreach.demo import load_demo
    from medreach.tracking import simulator

    if via not in ("lake", "collector"):
        raise typer.BadParameter("lake or collector", param_hint="--via")
    if not 0 <= users <= 10_000_000:
        raise typer.BadParameter("between 0 and 10,000,000", param_hint="--users")
    if not 1 <= days <= 3660:
        raise typer.BadParameter("between 1 and 3660", param_hint="--days")
    if via == "collector" and users and not write_key:
        raise typer.BadParameter("create an import source in the console and pass its key", param_hint="--write-key")
    try:
        end_day = date.fromisoformat(end) if end else datetime.now(UTC).date()
    except ValueError:
        raise typer.BadParameter("YYYY-MM-DD", param_hint="--end") from None
    db = _database()
    with db.session() as s:
        logins = load_demo(s)
    typer.echo("Demo logins (password for all: see below)")
    for row in logins:
        typer.echo(f"  {row['role']:<11} {row['login']:<28} {row['password']}")
    settings = get_settings()
    from medreach.pipeline.snapshots import sync_all

    with db.session() as s:
        sync_all(s, settings.lake_path)
    typer.echo("Lake: users, products, orders and order lines synced into today's snapshots")
    if not users:
        return
    plan = simulator.Plan(users=users, seed=seed, days=days, end=end_day)
    previous = simulator.existing_world(settings.lake_path)
    if previous and via == "lake":
        from medreach.accounts import demo_customers

        # Without --end, a world made on an earlier day counts as the same one (it just ends earlier).
        wanted = {k: v for k, v in plan.manifest().items() if end or k not in ("start", "end")}
        same = {k: previous.get(k) for k in wanted} == wanted
        with db.session() as s:
            accounts = demo_customers.count(s)
        if same and not replace and accounts != previous.get("accounts"):
            # The lake's world without its customers (a database made anew beside an old lake): make it again.
            typer.echo(
                f"Behaviour: the simulated world's {previous.get('accounts') or 0:,} customers are not in the "
                f"database ({accounts:,} demo customers are): simulating it again"
            )
            replace = True
        elif same and not replace:
            typer.echo(
                f"Behaviour: the simulated world is already in the lake ({previous['events']:,} events, "
                f"{accounts:,} customer accounts)"
            )
            return _demo_pipeline(db, settings, since=datetime.fromisoformat(previous["generated_at"]))
        if not replace:
            typer.echo(
                f"Behaviour: a different simulated world is in the lake (seed {previous['seed']}, "
                f"{previous['users']:,} people); --replace swaps it"
            )
            return _demo_pipeline(db, settings)
        with db.session() as s:
            simulator.remove_world(s, settings.lake_path, previous)
    progress, task = _progress(users, f"Simulating {users:,} shoppers, {days} days")
    events = 0

    def advance(people: int, n: int):
        nonlocal events
        events += n
        progress.update(task, advance=people, description=f"Simulating shoppers ({events:,} events)")

    with progress:
        if via == "lake":
            result = simulator.write_lake(
                db.session,
                settings.lake_path,
                settings.events_path / "simulator",
                plan,
                advance=advance,
                previous=previous if replace else None,
            )
        else:
            result = simulator.send(db.session, url, write_key, plan, advance=advance)
    typer.echo(
        f"Behaviour: {result['events']:,} events of {users:,} people "
        f"({plan.start} to {plan.end}, seed {seed}) via {via}"
    )
    if via == "lake":
        with db.session() as s:
            sync_all(s, settings.lake_path, ["users"])  # the new customer accounts, for the profiles' demographics
        typer.echo(f"Customers: {result['accounts']:,} simulated shoppers signed up (accounts marked as demo data)")
        _demo_pipeline(db, settings)


def _demo_pipeline(db, settings, since: datetime | None = None) -> None:
    """The demo world goes through the pipeline as recorded job runs (so the console shows them with their
    quality reports): the events cleaned, the customer features built, and — once — a messy export of orders
    from another system imported and cleaned. With `since` (a world already there), a job that has succeeded
    since then is not run again (the scheduler keeps them current while the server runs)."""
    from sqlalchemy import func, select

    from medreach.pipeline import datasets, samples
    from medreach.pipeline.models import JobRun

    steps: list[tuple[str, dict | None]] = [("clean_events", None), ("build_features", None), ("build_profiles", None)]
    if not datasets.DatasetFiles(settings.lake_path, "external_orders").clean.exists():
        export = samples.external_orders(settings.uploads_path / "imports" / "demo_external_orders.csv")
        steps.append(
            ("import_file", {"dataset": "external_orders", "path": str(export), "filename": "门店订单导出.csv"})
        )
    for job, params in steps:
        if since is not None and params is None:
            with db.session() as s:
                done = s.scalar(
                    select(func.max(JobRun.id)).where(
                        JobRun.job == job, JobRun.status == "succeeded", JobRun.finished_at >= since
                    )
                )
            if done is not None:
                typer.echo(f"Pipeline: {job} is up to date (run {done})")
                continue
        run_id, status, result = _run_job(db, settings, job, params)
        typer.echo(f"Pipeline: {job} run {run_id} {status}" + (f" ({_summary(job, result)})" if result else ""))


def _summary(job: str, result: dict) -> str:
    if job == "clean_events":
        dropped = ", ".join(f"{s['dropped']:,} {s['step']}" for s in result["steps"] if s["dropped"])
        return f"{result['rows_out']:,} clean events over {result['days']} days; dropped: {dropped or 'nothing'}"
    if job == "build_features":
        return f"{result['rows']:,} customers, {len(result['scaling'])} scaled features"
    if job == "build_profiles":
        rows = result["rows"]
        return f"{rows['customers']:,} customer profiles, {rows['health']:,} health rows; {result['clv']}"
    if "rows_out" in result:
        return f"{result['rows_in']:,} rows in, {result['rows_out']:,} clean, report {result['report_id']}"
    return ""


def _run_job(db, settings, job: str, params: dict | None = None) -> tuple[int, str, dict]:
    """Run a pipeline job here with a progress bar, recorded like any other run."""
    from medreach.pipeline import jobs
    from medreach.pipeline.models import JobRun
    from medreach.profiles import tasks as profile_tasks

    profile_tasks.register()

    run_id = jobs.create_run(db, job, "cli", params=params)
    title = jobs.JOBS[job].title_en
    progress, task = _progress(None, title)
    with progress:
        status = jobs.execute(
            db,
            settings,
            run_id,
            on_progress=lambda done, total, message: progress.update(
                task, completed=done, total=total, description=f"{title} {message}".strip()
            ),
        )
    with db.session() as s:
        run = s.get_one(JobRun, run_id)
        return run_id, status, (run.result or {}) if status == "succeeded" else {"error": (run.error or "")[-300:]}


@pipeline_app.command("sync")
def pipeline_sync(
    table: Annotated[list[str] | None, typer.Option(help="a table to sync (repeat; default: all)")] = None,
):
    """Sync the database's tables (users, products, orders, order lines) into today's lake snapshots."""
    from medreach.pipeline.snapshots import sync_all
    from medreach.pipeline.tables import TABLES

    table = table or []
    unknown = [t for t in table if t not in TABLES]
    if unknown:
        raise typer.BadParameter(f"unknown table {unknown[0]!r}; one of {', '.join(TABLES)}", param_hint="--table")
    settings = get_settings()
    with _database().session() as s:
        results = sync_all(
            s, settings.lake_path, table or None, engine_name=settings.engine, spark_master=settings.spark_master
        )
    for r in results:
        typer.echo(
            f"  {r.table:<12} {r.upserts:>8,} changed {r.deletes:>6,} deleted {r.rows:>9,} rows "
            f"in the {r.snapshot_date} snapshot"
        )


@pipeline_app.command("run")
def pipeline_run(job: Annotated[str, typer.Argument(help="the job's name (see `medreach pipeline jobs`)")]):
    """Run a pipeline job now, here, with a progress bar; the run is recorded like any other."""
    from medreach.core.errors import AppError
    from medreach.pipeline import jobs
    from medreach.profiles import tasks as profile_tasks

    settings = get_settings()
    jobs.register_sources(settings)
    profile_tasks.register()
    if job not in jobs.JOBS:
        raise typer.BadParameter(f"unknown job {job!r}; one of {', '.join(jobs.JOBS)}", param_hint="JOB")
    if jobs.JOBS[job].params:
        raise typer.BadParameter(
            f"{job} needs {', '.join(jobs.JOBS[job].params)}: use `medreach pipeline "
            "import` (or the console's datasets page)",
            param_hint="JOB",
        )
    try:
        run_id, status, _ = _run_job(_database(), settings, job)
    except AppError as e:
        typer.echo(f"{job} is already running (see `medreach pipeline history --job {job}`)", err=True)
        raise typer.Exit(1) from e
    typer.echo(f"run {run_id}: {status}")
    if status != "succeeded":
        raise typer.Exit(1)


@pipeline_app.command("import")
def pipeline_import(
    dataset: Annotated[str, typer.Argument(help="the dataset (see `medreach pipeline datasets`)")],
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV, XLSX, JSON Lines or Parquet")],
):
    """Import a file into a dataset, clean it and print its quality report."""
    from medreach.pipeline import datasets
    from medreach.pipeline.connectors.files import FORMATS

    if dataset not in datasets.all_specs():
        raise typer.BadParameter(f"unknown dataset; one of {', '.join(datasets.all_specs())}", param_hint="DATASET")
    if path.suffix.lower() not in FORMATS:
        raise typer.BadParameter(f"one of {', '.join(sorted(FORMATS))}", param_hint="PATH")
    run_id, status, result = _run_job(
        _database(),
        get_settings(),
        "import_file",
        {"dataset": dataset, "path": str(path.resolve()), "filename": path.name},
    )
    if status != "succeeded":
        typer.echo(f"run {run_id} failed: {result['error']}", err=True)
        raise typer.Exit(1)
    imported = result["import"]
    typer.echo(
        f"run {run_id}: {imported['read']:,} read, {imported['written']:,} written, "
        f"{imported['rejected']:,} rejected {imported['rejected_by_reason'] or ''}".rstrip()
    )
    typer.echo(
        f"cleaned: {result['rows_in']:,} rows in, {result['rows_out']:,} out; dropped "
        f"{result['dropped_by_reason'] or 'nothing'}; quality report {result['report_id']}"
    )


@pipeline_app.command("datasets")
def pipeline_datasets():
    """The declared datasets and their rows, raw and clean."""
    from medreach.pipeline import datasets

    lake_dir = get_settings().lake_path
    for spec in datasets.all_specs().values():
        files = datasets.DatasetFiles(lake_dir, spec.name)
        typer.echo(f"  {spec.name:<20} {files.raw_rows():>9,} raw {files.clean_rows() or 0:>9,} clean  {spec.title_en}")


@pipeline_app.command("jobs")
def pipeline_jobs():
    """The pipeline's jobs, their schedules (cron, Beijing time) and latest runs (Beijing time)."""
    from medreach.core.scheduler import SHANGHAI, Cron
    from medreach.pipeline import jobs
    from medreach.profiles import tasks as profile_tasks
    from medreach.schedule import schedules

    settings = get_settings()
    jobs.register_sources(settings)
    profile_tasks.register()
    planned = schedules(settings)
    with _database().session() as s:
        for job in jobs.JOBS.values():
            last = jobs.latest_run(s, job.name)
            status = f"{last.status} ({last.created_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M})" if last else "never run"
            cron = planned.get(job.name)
            typer.echo(
                f"  {job.name:<16} {cron.expr if isinstance(cron, Cron) else 'by hand':<14} {status:<34} {job.title_en}"
            )


@pipeline_app.command("history")
def pipeline_history(
    job: Annotated[str, typer.Option(help="only this job")] = "",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
):
    """Recent job runs, newest first."""
    from sqlalchemy import select

    from medreach.pipeline import jobs
    from medreach.pipeline.models import JobRun

    q = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if job:
        q = q.where(JobRun.job == job)
    with _database().session() as s:
        for r in s.scalars(q):
            seconds = jobs.run_out(r)["duration_seconds"]
            took = f"{seconds:.1f}s" if seconds is not None else ""
            typer.echo(
                f"  {r.id:>6} {r.job:<16} {r.trigger:<8} {r.status:<10} attempt {r.attempt}/{r.max_attempts} "
                f"{r.created_at:%Y-%m-%d %H:%M:%S} {took}"
            )


TargetOption = Annotated[
    str, typer.Option("--to", "--from", help="a folder or fsspec URL (default: MEDREACH_BACKUP_URL or var/backups)")
]


def _backup_call(fn):
    from medreach.core.errors import AppError
    from medreach.core.i18n import message

    try:
        return fn()
    except AppError as e:
        typer.echo(message(e.code, "en", **e.params), err=True)
        raise typer.Exit(1) from e


@backup_app.command("create")
def backup_create(
    target: TargetOption = "",
    keep: Annotated[int, typer.Option(min=0, help="backups to keep (0: MEDREACH_BACKUP_KEEP)")] = 0,
):
    """A consistent backup of the database and the lake, with a manifest and checksums."""
    from medreach.pipeline import backup

    settings = get_settings()
    db = _database()
    progress, task = _progress(None, "Backing up")
    with progress:
        manifest = backup.create(
            db,
            settings.lake_path,
            target or settings.backup_target,
            settings.data_key,
            keep=keep or settings.backup_keep,
            advance=lambda step: progress.update(task, advance=1, description=f"Backing up {step}"),
        )
    rows = backup.row_count(manifest)
    typer.echo(
        f"backup {manifest['id']}: {rows:,} rows, {len(manifest['lake']):,} lake files -> "
        f"{target or settings.backup_target}"
    )


@backup_app.command("list")
def backup_list(target: TargetOption = ""):
    """The backups at the target, newest first."""
    from medreach.pipeline import backup

    for m in backup.list_backups(target or get_settings().backup_target):
        rows = backup.row_count(m)
        typer.echo(
            f"  {m['id']}  {m['database']:<10} revision {m['revision']}  {rows:>10,} rows  "
            f"{len(m['lake']):>6,} lake files"
        )


@backup_app.command("verify")
def backup_verify(backup_id: str, target: TargetOption = ""):
    """Check every file of a backup against its manifest."""
    from medreach.pipeline import backup

    _backup_call(lambda: backup.verify(target or get_settings().backup_target, backup_id))
    typer.echo(f"backup {backup_id}: every checksum matches")


@backup_app.command("restore")
def backup_restore(
    backup_id: str,
    target: TargetOption = "",
    yes: Annotated[bool, typer.Option("--yes", help="replace the current data without asking")] = False,
):
    """Replace the database's rows and the lake with a backup's (checked first; all or nothing)."""
    from medreach.pipeline import backup

    settings = get_settings()
    if not yes:
        typer.confirm(
            f"Replace ALL data in {settings.db_url.split('@')[-1]} and the lake with backup {backup_id}?", abort=True
        )
    db = _database()
    progress, task = _progress(None, "Restoring")
    with progress:
        _backup_call(
            lambda: backup.restore(
                db,
                settings.lake_path,
                target or settings.backup_target,
                backup_id,
                settings.data_key,
                advance=lambda step: progress.update(task, advance=1, description=f"Restoring {step}"),
            )
        )
    typer.echo(f"restored backup {backup_id}")


@insights_app.command("experiment")
def insights_experiment(
    results: Annotated[Path, typer.Argument(metavar="RESULTS.csv", exists=True, dir_okay=False)],
    control: Annotated[str, typer.Option(help="the control group (default: control, else the first group)")] = "",
    split: Annotated[str, typer.Option(help="the planned split, e.g. control=0.1,a=0.45,b=0.45 (default: equal)")] = "",
):
    """Evaluate an experiment from a CSV file (group,converted,revenue[,pre_revenue]; one row per customer):
    one JSON line per non-control group with the lifts, 95% intervals, p-values and the SRM check."""
    import json

    from medreach.core.errors import AppError
    from medreach.core.i18n import message
    from medreach.insights import experiments

    try:
        planned = experiments.parse_split(split) if split else None
        result = experiments.evaluate(experiments.read_results(results), control=control or None, split=planned)
    except AppError as e:
        typer.echo(f"error: {message(e.code, 'en', **e.params)}", err=True)
        raise typer.Exit(2) from e
    if result.control_choice == "first group":
        typer.echo(f"no group named control: {result.control!r}, the first group in the file, is the control", err=True)
    if result.sample_ratio.mismatch:
        typer.echo(
            f"warning: sample ratio mismatch (p = {result.sample_ratio.p_value:.2g}): the group sizes "
            f"{result.sample_ratio.observed} do not fit the planned split; the results may be biased",
            err=True,
        )
    for row in result.summaries():
        typer.echo(json.dumps(row, ensure_ascii=False))


@profiles_app.command("clv")
def profiles_clv(
    transactions: Annotated[
        Path,
        typer.Argument(
            metavar="TRANSACTIONS.csv", exists=True, dir_okay=False, help="customer_id,date,amount: a row a purchase"
        ),
    ],
    calibration_end: Annotated[
        str, typer.Option(help="fit on the purchases up to this day, YYYY-MM-DD; the later ones are the holdout")
    ] = "",
    time_unit: Annotated[str, typer.Option(help="D (days) or W (weeks): the period purchases are counted in")] = "D",
    predictions: Annotated[
        Path | None, typer.Option(dir_okay=False, help="write the per-customer predictions to this CSV")
    ] = None,
):
    """Fit lifetime-value models (BG/NBD and Gamma-Gamma, as the lifetimes package) on a purchase log and print
    {"bgnbd": {r, alpha, a, b}, "gamma_gamma": {p, q, v}, "customers": N} as one JSON object."""
    import json
    from datetime import date

    from medreach.profiles import clv

    unit = time_unit.upper()
    if unit not in clv.TIME_UNITS:
        raise typer.BadParameter("D (days) or W (weeks)", param_hint="--time-unit")
    try:
        end = date.fromisoformat(calibration_end) if calibration_end else None
    except ValueError:
        raise typer.BadParameter("YYYY-MM-DD", param_hint="--calibration-end") from None
    try:
        result = clv.fit(clv.read_transactions(transactions), unit, end)
    except clv.ClvDataError as e:
        typer.echo(f"error: {transactions.name}: {e}", err=True)
        raise typer.Exit(2) from e
    except clv.ClvFitError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from e
    if predictions:
        try:
            clv.write_predictions(result.predictions, predictions)
        except OSError as e:
            typer.echo(f"error: cannot write the predictions: {e}", err=True)
            raise typer.Exit(1) from e
    typer.echo(json.dumps(result.parameters()))


@recommend_app.command("evaluate")
def recommend_evaluate(
    train: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="user_id,item_id[,timestamp,weight]")],
    test: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="held-out interactions, same columns")],
    k: Annotated[int, typer.Option(min=1, help="the lists' length")] = 10,
    output: Annotated[Path | None, typer.Option(dir_okay=False, help="write model,user_id,item_id,rank")] = None,
    items: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="item_id,<attributes>")] = None,
    model: Annotated[list[str] | None, typer.Option(help="only this model (repeat; default: every model)")] = None,
    half_life_days: Annotated[float, typer.Option(min=0, help="popularity's half-life; 0: plain popularity")] = 30.0,
):
    """Fit every model on TRAIN; print one JSON line of metrics per model for TEST (docs/recommendations.md)."""
    import json

    from medreach.core.errors import AppError
    from medreach.core.i18n import message
    from medreach.recommend.evaluate import evaluate_files

    def log(line: str) -> None:
        typer.echo(line, err=True)

    try:
        for result in evaluate_files(train, test, k, output, items, model or (), half_life_days or None, log):
            typer.echo(json.dumps(result))
    except AppError as e:
        typer.echo(f"error: {e.params.get('reason') or message(e.code, 'en', **e.params)}", err=True)
        raise typer.Exit(2) from e


if __name__ == "__main__":
    app()
