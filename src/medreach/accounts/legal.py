"""The user agreement and the privacy policy: versioned documents in both languages, which a customer accepts
at registration (and again when a new version comes out).

The texts are Markdown files in accounts/documents/ (`<name>.<lang>.md`: a title, sections, paragraphs and
lists). A change of substance gets a new version here; every acceptance records the version accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Literal

from markdown_it import MarkdownIt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from medreach.accounts.models import AgreementAcceptance
from medreach.core.context import client_info
from medreach.core.errors import AppError

DocumentName = Literal["terms", "privacy"]
LANGUAGES = ("zh-CN", "en")
FOLDER = Path(__file__).with_name("documents")


@dataclass(frozen=True)
class Version:
    version: str
    effective: date


# The version in force of each document. Bump it (and the files) for a change of substance.
CURRENT: dict[DocumentName, Version] = {
    "terms": Version("2026-12-04", date(2026, 12, 4)),
    "privacy": Version("2026-12-04", date(2026, 12, 4)),
}


def current_versions() -> dict[DocumentName, str]:
    """What registration must accept: each document's version in force."""
    return {name: current.version for name, current in CURRENT.items()}


@dataclass(frozen=True)
class Block:
    kind: Literal["heading", "paragraph", "list"]
    text: str = ""
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Text:
    title: str
    blocks: tuple[Block, ...]


@cache
def text(name: str, lang: str) -> Text:
    """A document in one language: its title (the file's first heading) and its blocks."""
    tokens = MarkdownIt("commonmark").parse((FOLDER / f"{name}.{lang}.md").read_text(encoding="utf-8"))
    title, in_list = "", False
    blocks: list[Block] = []
    items: list[str] = []
    for i, token in enumerate(tokens):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            in_list, items = True, []
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            in_list = False
            blocks.append(Block("list", items=tuple(items)))
        elif token.type == "inline":
            opening = tokens[i - 1]
            content = token.content.replace("\n", " ")
            if in_list:
                items.append(content)
            elif opening.tag == "h1" and not title:
                title = content
            else:
                blocks.append(Block("heading" if opening.type == "heading_open" else "paragraph", content))
    return Text(title, tuple(blocks))


# --- acceptances ----------------------------------------------------------------------------------------------


def check_accepted(given: Mapping[DocumentName, str]) -> None:
    """Registration accepts the version in force of every document: a 422 naming the one missing or outdated."""
    for name, current in CURRENT.items():
        if given.get(name) != current.version:
            raise AppError(
                422, "AGREEMENT_REQUIRED", field=f"agreements.{name}", document=name, version=current.version
            )


def record(session: Session, user_id: int, versions: Mapping[DocumentName, str], channel: str) -> None:
    """Add acceptances to the caller's transaction."""
    ip = client_info.get().ip[:45]
    for name, version in versions.items():
        session.add(AgreementAcceptance(user_id=user_id, document=name, version=version, channel=channel, ip=ip))


@dataclass(frozen=True)
class Standing:
    """Where a user stands with one document: the newest version they accepted, and whether it is in force."""

    document: str
    current_version: str
    accepted_version: str | None
    accepted_at: datetime | None

    @property
    def up_to_date(self) -> bool:
        return self.accepted_version == self.current_version


def standings(session: Session, user_id: int) -> list[Standing]:
    newest = select(func.max(AgreementAcceptance.id)).where(AgreementAcceptance.user_id == user_id)
    rows = {
        a.document: a
        for a in session.scalars(
            select(AgreementAcceptance).where(AgreementAcceptance.id.in_(newest.group_by(AgreementAcceptance.document)))
        )
    }
    return [
        Standing(
            name,
            current.version,
            rows[name].version if name in rows else None,
            rows[name].accepted_at if name in rows else None,
        )
        for name, current in CURRENT.items()
    ]


def pending(session: Session, user_id: int) -> list[str]:
    """The documents whose version in force the user has not accepted yet (asked again at the next sign-in)."""
    return [s.document for s in standings(session, user_id) if not s.up_to_date]


def accept(session: Session, user_id: int, name: DocumentName, version: str) -> Standing:
    """A signed-in user accepts the version in force of a document (after it changed)."""
    if version != CURRENT[name].version:
        raise AppError(422, "AGREEMENT_REQUIRED", field="version", document=name, version=CURRENT[name].version)
    record(session, user_id, {name: version}, "account")
    session.commit()
    return next(s for s in standings(session, user_id) if s.document == name)
