"""The `medreach` command: serve, database migrations, users and the demo world."""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer

from medreach.core.settings import get_settings

app = typer.Typer(help="MedReach 医药电商精准营销平台", no_args_is_help=True)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
users_app = typer.Typer(help="User accounts", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")


def _database():
    from medreach.core.db import Database

    settings = get_settings()
    settings.ensure_dirs()
    return Database(settings.db_url)


@app.command()
def serve(host: Annotated[str, typer.Option(help="bind address")] = "",
          port: Annotated[int, typer.Option(help="port")] = 0,
          workers: Annotated[int, typer.Option(help="worker processes")] = 1):
    """Serve the API, the storefront (/) and the console (/console)."""
    import uvicorn

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    typer.echo(f"MedReach at http://{host}:{port}  (console: http://{host}:{port}/console)")
    uvicorn.run("medreach.api:create_app", factory=True, host=host, port=port, workers=workers,
                access_log=False, proxy_headers=False)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head"):
    """Apply migrations up to REVISION (default: the newest) and create the built-in roles."""
    from medreach.accounts.service import ensure_builtin_roles
    from medreach.core.migrate import upgrade

    db = _database()
    upgrade(db.url, revision)
    with db.session() as s:
        ensure_builtin_roles(s)
    typer.echo(f"database at {revision}: {db.engine.url.render_as_string(hide_password=True)}")


@users_app.command("create-admin")
def create_admin(login: Annotated[str, typer.Option(help="email or mainland mobile number")],
                 password: Annotated[str, typer.Option(help="default: MEDREACH_ADMIN_PASSWORD or a prompt")] = "",
                 name: str = "管理员"):
    """Create an admin (or reset an existing login to admin with a new password)."""
    from medreach.accounts import schemas
    from medreach.accounts.service import create_admin as make_admin

    password = password or os.environ.get("MEDREACH_ADMIN_PASSWORD") or getpass.getpass("password: ")
    if len(password) < 8:
        raise typer.BadParameter("the password needs at least 8 characters", param_hint="--password")
    email, phone = (login.lower(), None) if "@" in login else (None, login)
    if phone:
        try:
            phone = schemas._phone(phone)
        except ValueError as e:
            raise typer.BadParameter(str(e), param_hint="--login") from e
    with _database().session() as s:
        user = make_admin(s, email=email, phone=phone, password=password, name=name)
        typer.echo(f"admin ready: {user.login} (id {user.id})")


@app.command()
def demo():
    """Load the demo world: the admin and one staff user per role (idempotent), printing their logins."""
    from medreach.demo import load_demo

    with _database().session() as s:
        logins = load_demo(s)
    typer.echo("Demo logins (password for all: see below)")
    for row in logins:
        typer.echo(f"  {row['role']:<11} {row['login']:<28} {row['password']}")


if __name__ == "__main__":
    app()
