"""``notes``: a tiny context used only by tests, built the way real contexts are.

It has an Alembic branch (``notes_migrations``), an inline projector keeping the
``notes_notes`` read model, a bus consumer (``notes-counter``) counting written notes
in ``notes_counters``, and an HTTP router:

* ``POST /v1/notes`` appends ``notes.NoteWritten`` through the unit of work (201);
* ``GET /v1/notes/{id}?tenant_id=`` reads the read model (404 for another tenant);
* ``PUT /v1/notes/{id}`` rewrites a note at ``expected_version`` (409 on conflict).

Its routes are public (``NOTES_POLICY``, passed to ``create_app(extra_policy=...)``):
the notes context exercises the kernel, not authentication.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import Column, Connection, Integer, String, Table, Text, and_, select
from sqlalchemy.dialects import postgresql, sqlite

from phantom.bootstrap import Container
from phantom.gateway.policy import PUBLIC, RouteKey, Rule
from phantom.gateway.problems import problem_responses
from phantom.kernel.db.engine import Database
from phantom.kernel.db.metadata import new_metadata
from phantom.kernel.db.tenant import tenant_transaction
from phantom.kernel.errors import NotFound
from phantom.kernel.events.envelope import Envelope, new_envelope
from phantom.kernel.ids import uuid7
from phantom.kernel.module import ConsumerSpec, Module

__all__ = [
    "COUNTER_CONSUMER",
    "NOTES_POLICY",
    "NOTE_WRITTEN",
    "Note",
    "NoteNotFound",
    "counter_value",
    "notes_module",
]

NOTE_WRITTEN = "notes.NoteWritten"
COUNTER_CONSUMER = "notes-counter"
MIGRATIONS = Path(__file__).parent / "notes_migrations"
NOTES_POLICY: dict[RouteKey, Rule] = {
    ("POST", "/v1/notes"): PUBLIC,
    ("GET", "/v1/notes/{note_id}"): PUBLIC,
    ("PUT", "/v1/notes/{note_id}"): PUBLIC,
}

metadata = new_metadata()
notes_table = Table(
    "notes_notes",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("text", Text, nullable=False),
    Column("version", Integer, nullable=False),
)
counters_table = Table(
    "notes_counters",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Integer, nullable=False),
)


class NoteNotFound(NotFound):
    code = "note-not-found"
    title = "Note not found"


class NoteCreate(BaseModel):
    tenant_id: str = Field(min_length=1, max_length=64)
    text: str = Field(max_length=1000)


class NoteUpdate(NoteCreate):
    expected_version: int = Field(ge=0)


class Note(BaseModel):
    id: str
    tenant_id: str
    text: str
    version: int


def _insert(conn: Connection) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


def project_notes(conn: Connection, events: Sequence[Envelope]) -> None:
    """Inline projector: upsert ``notes_notes`` from ``notes.NoteWritten``."""
    for event in events:
        if event.type != NOTE_WRITTEN:
            continue
        statement = _insert(conn)(notes_table).values(
            tenant_id=event.tenant_id,
            id=event.data["id"],
            text=event.data["text"],
            version=event.stream_version,
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["tenant_id", "id"],
                set_={
                    "text": statement.excluded.text,
                    "version": statement.excluded.version,
                },
            )
        )


def count_note(conn: Connection, envelope: Envelope) -> None:
    """The notes-counter consumer's effect: one more written note."""
    if envelope.type != NOTE_WRITTEN:
        return
    statement = _insert(conn)(counters_table).values(name="notes_written", value=1)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["name"],
            set_={"value": counters_table.c.value + 1},
        )
    )


def counter_value(db: Database) -> int:
    """How many notes the notes-counter consumer has counted."""
    with db.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        value = conn.execute(
            select(counters_table.c.value).where(
                counters_table.c.name == "notes_written"
            )
        ).scalar()
    return int(value or 0)


def _find(conn: Connection, tenant_id: str, note_id: str) -> Note | None:
    row = (
        conn.execute(
            select(notes_table).where(
                and_(notes_table.c.tenant_id == tenant_id, notes_table.c.id == note_id)
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else Note(**row)


def _write(
    container: Container, note_id: str, body: NoteCreate, expected: int, *, new: bool
) -> Note:
    envelope = new_envelope(
        NOTE_WRITTEN,
        tenant_id=body.tenant_id,
        stream_id=f"note-{note_id}",
        data={"id": note_id, "text": body.text},
    )
    with container.uow("notes", body.tenant_id) as uow:
        if not new and _find(uow.connection, body.tenant_id, note_id) is None:
            msg = f"no note {note_id} for this tenant"
            raise NoteNotFound(msg)
        version = uow.append([envelope], expected_version=expected).version
        uow.commit()
    return Note(id=note_id, tenant_id=body.tenant_id, text=body.text, version=version)


def notes_router(container: Container) -> APIRouter:
    router = APIRouter(prefix="/v1/notes", tags=["notes"])

    @router.post("", status_code=201, responses=problem_responses(400, 413))
    def write_note(body: NoteCreate) -> Note:
        return _write(container, str(uuid7()), body, 0, new=True)

    @router.get("/{note_id}", responses=problem_responses(404))
    def read_note(note_id: str, tenant_id: Annotated[str, Query()]) -> Note:
        db = container.database("notes")
        with tenant_transaction(db, tenant_id) as conn:
            note = _find(conn, tenant_id, note_id)
        if note is None:
            msg = f"no note {note_id} for this tenant"
            raise NoteNotFound(msg)
        return note

    @router.put("/{note_id}", responses=problem_responses(404, 409))
    def rewrite_note(note_id: str, body: NoteUpdate) -> Note:
        return _write(container, note_id, body, body.expected_version, new=False)

    return router


def notes_module() -> Module:
    """The notes context's module."""
    return Module(
        name="notes",
        migrations=MIGRATIONS,
        projectors=[project_notes],
        consumers=[ConsumerSpec(COUNTER_CONSUMER, count_note)],
        router=notes_router,
    )
