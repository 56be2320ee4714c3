"""``yteso auth ...`` and ``yteso audit ...``: operator commands for tokens, keys and the audit log.

Tokens are signed with the keys under ``$YTESO_HOME/auth`` (the ones ``yteso serve`` verifies
with), see docs/security.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from yteso.auth import SecurityServices

auth_app = typer.Typer(help="Access tokens, signing keys, users and clients.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

# Users, clients and revocations live in the database the servers share.
Db = Annotated[
    str | None,
    typer.Option("--db", help="The servers' database (default sqlite:///$YTESO_HOME/yteso.db)."),
]


@contextmanager
def _security(db: str | None) -> Iterator[SecurityServices]:
    from yteso.app import default_database_url, open_security
    from yteso.store import open_store

    store = open_store(db or default_database_url())
    try:
        yield open_security(store=store)
    finally:
        store.close()


@auth_app.command("token")
def token(
    subject: Annotated[str, typer.Option("--subject", help="Who the token speaks for.")],
    scope: Annotated[str, typer.Option("--scope", help='SMART scopes, e.g. "system/*.rs".')],
    ttl: Annotated[int, typer.Option("--ttl", help="Lifetime in seconds.")] = 3600,
    patient: Annotated[
        str | None, typer.Option("--patient", help="Patient id that patient/ scopes act for.")
    ] = None,
    fhir_user: Annotated[
        str | None, typer.Option("--fhir-user", help="e.g. Practitioner/123")
    ] = None,
    facility: Annotated[
        str | None, typer.Option("--facility", help="Practitioner's Organization id.")
    ] = None,
    role: Annotated[
        str | None, typer.Option("--role", help="administrator or auditor: their own APIs.")
    ] = None,
) -> None:
    """Print a signed access token (for scripts and checks)."""
    from yteso.app import open_security
    from yteso.auth import ROLES
    from yteso.fhir.errors import FhirError

    if role is not None and role not in ROLES:
        raise typer.BadParameter(f"--role must be one of {', '.join(ROLES)}")
    tokens = open_security().tokens
    try:
        links = {"patient": patient, "fhir_user": fhir_user, "facility": facility, "role": role}
        typer.echo(tokens.issue(subject, scope, ttl=ttl, **links))
    except (ValueError, FhirError) as error:
        raise typer.BadParameter(str(error)) from error


@auth_app.command("rotate-keys")
def rotate_keys() -> None:
    """Add a new signing key; older keys keep verifying the tokens they signed."""
    from yteso.app import open_security

    typer.echo(open_security().keys.rotate())


@auth_app.command("revoke")
def revoke(
    token_text: Annotated[str, typer.Argument(help="The access token.")], db: Db = None
) -> None:
    """Revoke an access token before it expires (every server on the database refuses it)."""
    with _security(db) as security:
        revoked = security.tokens.revoke(token_text)
    if not revoked:
        typer.echo("not a valid token of this server (nothing to revoke)", err=True)
        raise typer.Exit(code=1)
    typer.echo("revoked")


@auth_app.command("add-user")
def add_user(
    username: Annotated[str, typer.Option("--username")],
    role: Annotated[str, typer.Option("--role", help="citizen|practitioner|administrator|auditor")],
    citizen_id: Annotated[
        str | None,
        typer.Option("--citizen-id", help="Citizen: CCCD; their one active Patient is linked."),
    ] = None,
    practitioner_role: Annotated[
        str | None,
        typer.Option(
            "--practitioner-role",
            help="Practitioner: PractitionerRole id (Practitioner and facility read per token).",
        ),
    ] = None,
    patient: Annotated[
        str | None, typer.Option("--patient", help="Citizen: Patient id (must exist).")
    ] = None,
    fhir_user: Annotated[str | None, typer.Option("--fhir-user", help="Practitioner/ID")] = None,
    facility: Annotated[str | None, typer.Option("--facility", help="Organization id.")] = None,
    db: Db = None,
) -> None:
    """Create (or reset) a user; the password is asked for, never taken from the command line."""
    from yteso.auth import LinkRefused, account_links

    given = {"patient": patient, "fhir_user": fhir_user, "facility": facility}
    try:
        with _security(db) as security:
            assert security.directory is not None  # opened over the database
            links = account_links(security.directory, role, citizen_id, practitioner_role, given)
            password = typer.prompt(
                "Password (12 characters or more)", hide_input=True, confirmation_prompt=True
            )
            security.accounts.add_user(username, password, role, **links)
    except (LinkRefused, ValueError) as error:
        raise typer.BadParameter(str(error)) from error
    linked = ", ".join(f"{k}={v}" for k, v in links.items() if v is not None)
    typer.echo(f"user {username} ({role}) saved" + (f": {linked}" if linked else ""))


@auth_app.command("add-client")
def add_client(
    client_id: Annotated[str, typer.Option("--client-id")],
    scope: Annotated[str, typer.Option("--scope", help="The most this client may be granted.")],
    redirect_uri: Annotated[
        list[str] | None, typer.Option("--redirect-uri", help="Apps using the code flow.")
    ] = None,
    jwks_file: Annotated[
        Path | None, typer.Option("--jwks", help="Backend services: their public JWKS file.")
    ] = None,
    name: Annotated[str, typer.Option("--name")] = "",
    db: Db = None,
) -> None:
    """Register a SMART app (code flow + PKCE) or a backend service (private_key_jwt)."""
    import orjson

    from yteso.auth import ClientApp

    jwks = orjson.loads(jwks_file.read_bytes()) if jwks_file else None
    client = ClientApp(client_id, tuple(redirect_uri or ()), scope, jwks, name)
    try:
        with _security(db) as security:
            security.accounts.add_client(client)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(f"client {client_id} saved")


@auth_app.command("list-users")
def list_users(db: Db = None) -> None:
    """The users, one JSON line each (never their password hash)."""
    import orjson

    with _security(db) as security:
        for user in security.accounts.users():
            typer.echo(orjson.dumps(user.public()).decode())


@auth_app.command("remove-user")
def remove_user(username: Annotated[str, typer.Argument()], db: Db = None) -> None:
    """Remove a user (their unredeemed codes and refresh tokens stop working)."""
    with _security(db) as security:
        removed = security.accounts.remove_user(username)
    if not removed:
        typer.echo(f"no user {username}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"user {username} removed")


@auth_app.command("list-clients")
def list_clients(db: Db = None) -> None:
    """The registered clients, one JSON line each."""
    import orjson

    with _security(db) as security:
        for client in security.accounts.clients():
            typer.echo(orjson.dumps(client.public()).decode())


@auth_app.command("remove-client")
def remove_client(client_id: Annotated[str, typer.Argument()], db: Db = None) -> None:
    """Remove a client (its unredeemed codes and refresh tokens stop working)."""
    with _security(db) as security:
        removed = security.accounts.remove_client(client_id)
    if not removed:
        typer.echo(f"no client {client_id}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"client {client_id} removed")


@audit_app.command("verify")
def verify() -> None:
    """Recompute the audit log's Merkle tree; report any edited, removed or added record."""
    from yteso.app import open_security

    report = open_security().audit.verify()
    for problem in report.problems:
        typer.echo(f"TAMPERED: {problem}")
    if not report.ok:
        raise typer.Exit(code=1)
    typer.echo(f"audit log intact: {report.records} records")


@audit_app.command("accesses")
def accesses(patient: Annotated[str, typer.Option("--patient", help="Patient id.")]) -> None:
    """Who accessed this patient's record, when, and how (one JSON line per event)."""
    import orjson

    from yteso.app import open_security
    from yteso.auth import access_report

    for line in access_report(open_security().audit.events(), patient):
        typer.echo(orjson.dumps(line).decode())


__all__ = ["audit_app", "auth_app"]
