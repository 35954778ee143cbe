"""Which column of an import file means which deal field: presets for the tools people
export from, an automatic match of common names, `--map`, `--set` constants and stages.

Import fields are pipe's deal fields plus what a file can say about a deal's life
(`created_at`, `won_at`, `lost_at`, `closed_at`, `stage_changed_at`, `updated_at`,
Salesforce's `is_won` / `is_closed`). `external_id` is the source system's id, kept exactly
as written; `id` is pipe's own id (a pipe export's first column).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipecli.errors import UsageError
from pipecli.models import Pipeline
from pipecli.store.codec import DEAL_COLUMNS, DEAL_COLUMNS_ADDED, older_layouts

TEXT_FIELDS = ("name", "company", "contact", "email", "owner", "source", "lost_reason",
               "note", "external_id", "next_step", "next_owner")
MOMENT_FIELDS = ("created_at", "won_at", "lost_at", "closed_at", "stage_changed_at",
                 "updated_at")
FIELDS = ("id", "external_id", "pipeline", "name", "stage", "status", "is_won", "is_closed",
          "value", "currency", "probability", "company", "contact", "email", "owner",
          "source", "close_date", "tags", "lost_reason", "note", "next_step", "next_due",
          "next_owner", *MOMENT_FIELDS)
# Fields an empty cell may clear with --clear-empty (the others are needed or are history).
CLEARABLE = ("value", "probability", "company", "contact", "email", "owner", "source",
             "close_date", "tags", "lost_reason", "next_step", "next_due", "next_owner")

# Header names as each tool exports them, normalised (see norm); "" = known and ignored.
PRESETS: dict[str, dict[str, str]] = {
    "hubspot": {"recordid": "external_id", "dealname": "name", "dealstage": "stage",
                "closedate": "close_date", "dealowner": "owner", "amount": "value",
                "createdate": "created_at", "pipeline": "", "dealtype": "",
                "closedlostreason": "lost_reason", "originalsource": "source",
                "currency": "currency", "lastmodifieddate": "updated_at",
                "associatedcompany": "company", "associatedcontact": "contact"},
    "pipedrive": {"id": "external_id", "title": "name", "value": "value",
                  "currency": "currency", "organization": "company",
                  "contactperson": "contact", "owner": "owner", "stage": "stage",
                  "status": "status", "expectedclosedate": "close_date",
                  "dealcreated": "created_at", "wontime": "won_at", "losttime": "lost_at",
                  "dealclosedon": "closed_at", "closetime": "closed_at",
                  "laststagechange": "stage_changed_at", "updatetime": "updated_at",
                  "lostreason": "lost_reason", "source": "source", "label": "tags",
                  "nextactivitydate": "next_due", "nextactivitysubject": "next_step"},
    "salesforce": {"id": "external_id", "name": "name", "stagename": "stage",
                   "amount": "value", "currencyisocode": "currency",
                   "closedate": "close_date", "createddate": "created_at",
                   "ownerid": "owner", "accountid": "company", "leadsource": "source",
                   "iswon": "is_won", "isclosed": "is_closed",
                   "laststagechangedate": "stage_changed_at",
                   "lastmodifieddate": "updated_at", "probability": "probability",
                   "nextstep": "next_step"},
    "pipe": {**{c: c for c in DEAL_COLUMNS}, "updatedat": "updated_at",
             "closedat": "closed_at", "createdat": "created_at", "closedate": "close_date",
             "lostreason": "lost_reason", "externalid": "external_id",
             "nextstep": "next_step", "nextdue": "next_due", "nextowner": "next_owner"},
}
# What the automatic match understands when no preset is given.
AUTO = {
    "id": "external_id", "dealid": "external_id", "recordid": "external_id",
    "opportunityid": "external_id", "externalid": "external_id", "leadid": "external_id",
    "mqlid": "external_id",
    "name": "name", "dealname": "name", "title": "name", "deal": "name",
    "opportunityname": "name", "opportunity": "name",
    "stage": "stage", "dealstage": "stage", "stagename": "stage",
    "status": "status", "iswon": "is_won", "isclosed": "is_closed",
    "value": "value", "amount": "value", "dealvalue": "value",
    "closevalue": "value", "revenue": "value", "expectedrevenue": "value",
    "currency": "currency", "currencycode": "currency", "currencyisocode": "currency",
    "company": "company", "account": "company", "accountname": "company",
    "organization": "company", "organisation": "company",
    "contact": "contact", "contactperson": "contact", "contactname": "contact",
    "email": "email", "emailaddress": "email",
    "owner": "owner", "dealowner": "owner", "salesagent": "owner", "rep": "owner",
    "salesrep": "owner", "source": "source", "leadsource": "source", "channel": "source",
    "campaign": "source", "origin": "source",
    "closedate": "close_date", "expectedclosedate": "close_date",
    "createdate": "created_at", "created": "created_at", "createdat": "created_at",
    "createddate": "created_at", "dealcreated": "created_at", "engagedate": "created_at",
    "firstcontactdate": "created_at",
    "wontime": "won_at", "wonat": "won_at", "wondate": "won_at",
    "losttime": "lost_at", "lostat": "lost_at", "lostdate": "lost_at",
    "closedat": "closed_at", "closetime": "closed_at", "dealclosedon": "closed_at",
    "laststagechangedate": "stage_changed_at", "laststagechange": "stage_changed_at",
    "updatedat": "updated_at", "lastmodifieddate": "updated_at", "updatetime": "updated_at",
    "lostreason": "lost_reason", "tags": "tags",
    "probability": "probability", "note": "note", "notes": "note",
    "pipeline": "pipeline", "stagechangedat": "stage_changed_at",
    "nextstep": "next_step", "nextaction": "next_step", "followup": "next_step",
    "nextdue": "next_due", "nextstepdue": "next_due", "followupdate": "next_due",
    "nextactivitydate": "next_due", "nextowner": "next_owner",
}


def norm(header: str) -> str:
    """A header or stage text compared loosely: case, spaces and punctuation ignored."""
    text = header.strip().lower()
    text = re.sub(r"^deal\s*-\s*", "", text)  # Pipedrive: "Deal - Title"
    return re.sub(r"[^a-z0-9]", "", text)


def is_pipe_export(headers: list[str]) -> bool:
    """A deals file `pipe export` wrote (this version's columns, or version 3's)."""
    found = [h.strip() for h in headers]
    return tuple(found) in (DEAL_COLUMNS, *older_layouts(DEAL_COLUMNS, DEAL_COLUMNS_ADDED))


def mapping(headers: list[str], preset: str | None, maps: list[str],
            constants: dict[str, str]) -> dict[str, str]:
    """Source header → import field: explicit --map first, then the preset, then AUTO.

    A field given by `--set` is not also read from a column (two sources for one field
    would be a guess), so such a column is left out unless --map names it — then it is an
    error."""
    if preset is not None and preset not in PRESETS:
        raise UsageError(f"--preset must be one of {', '.join(PRESETS)}, not {preset!r}")
    table = PRESETS.get(preset, {}) if preset else {}
    out: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        key = norm(header)
        target = table.get(key) if preset else None
        if target is None:
            target = AUTO.get(key)
        if target and target not in taken and target not in constants:
            out[header] = target
            taken.add(target)
    for item in maps:
        if "=" not in item:
            raise UsageError(f"--map {item!r} must be SOURCE_COLUMN=FIELD")
        source, target = (x.strip() for x in item.split("=", 1))
        if source not in headers:
            raise UsageError(f"--map {item!r}: the file has no column {source!r} (columns: "
                             f"{', '.join(headers)[:300]})")
        if target == "id" and preset != "pipe":
            target = "external_id"  # a source system's id: kept as it is written
        if target not in FIELDS:
            raise UsageError(f"--map {item!r}: {target!r} is not a field (fields: "
                             f"{', '.join(FIELDS)})")
        if target in constants:
            raise UsageError(f"--map {item!r} and --set {target}=… both give {target}; "
                             f"keep one")
        out = {h: f for h, f in out.items() if f != target}
        out[source] = target
    given = set(out.values()) | set(constants)
    if not given & {"name", "id", "external_id"}:
        raise UsageError("no column maps to the deal name or id; use --map COLUMN=name")
    return out


def constants_of(items: list[str]) -> dict[str, str]:
    """`--set FIELD=VALUE` options as a field → text mapping (values are read like cells)."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--set {item!r} must be FIELD=VALUE (e.g. --set status=won)")
        name, value = item.split("=", 1)
        name = name.strip()
        if name not in FIELDS or name in ("id", "external_id"):
            raise UsageError(f"--set {item!r}: {name!r} is not a field --set can give "
                             f"(fields: {', '.join(f for f in FIELDS if 'id' != f[-2:])})")
        if name in out:
            raise UsageError(f"--set {name}=… is given twice")
        out[name] = value.strip()
    return out


@dataclass(frozen=True)
class StageTable:
    """Source stage texts → stage keys of one pipeline."""

    pipeline: Pipeline
    table: dict[str, str]

    def resolve(self, text: str) -> str | None:
        return self.table.get(norm(text))


def stage_table(pipeline: Pipeline, stage_maps: list[str]) -> StageTable:
    """Stage keys and labels, the words won/lost, then each --stage-map SOURCE=KEY."""
    table: dict[str, str] = {}
    for s in pipeline.stages:
        table[norm(s.key)] = s.key
        table[norm(s.label)] = s.key
    for word in ("won", "closedwon"):
        table.setdefault(word, pipeline.won_stage.key)
    for word in ("lost", "closedlost"):
        table.setdefault(word, pipeline.lost_stage.key)
    for item in stage_maps:
        if "=" not in item:
            raise UsageError(f"--stage-map {item!r} must be SOURCE_STAGE=STAGE_KEY")
        source, target = (x.strip() for x in item.split("=", 1))
        if pipeline.stage(target) is None:
            raise UsageError(f"--stage-map {item!r}: pipeline {pipeline.name!r} has no stage "
                             f"{target!r}")
        table[norm(source)] = target
    return StageTable(pipeline, table)
