"""``yteso auth ...`` and ``yteso audit ...``: operator commands for tokens, keys and the audit log.

Tokens are signed with the keys under ``$YTESO_HOME/auth`` (the ones ``yteso serve`` verifies
with), see docs/security.md.
"""

from __future__ import annotations

from typing import Annotated

import typer

auth_app = typer.Typer(help="Access tokens and signing keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


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
) -> None:
    """Print a signed access token (for scripts and checks)."""
    from yteso.app import open_security

    tokens = open_security().tokens
    try:
        typer.echo(tokens.issue(subject, scope, ttl=ttl, patient=patient, fhir_user=fhir_user))
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error


@auth_app.command("rotate-keys")
def rotate_keys() -> None:
    """Add a new signing key; older keys keep verifying the tokens they signed."""
    from yteso.app import open_security

    typer.echo(open_security().keys.rotate())


@auth_app.command("revoke")
def revoke(token_text: Annotated[str, typer.Argument(help="The access token.")]) -> None:
    """Revoke an access token before it expires."""
    from yteso.app import open_security

    if not open_security().tokens.revoke(token_text):
        typer.echo("not a valid token of this server (nothing to revoke)", err=True)
        raise typer.Exit(code=1)
    typer.echo("revoked")


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


__all__ = ["audit_app", "auth_app"]
