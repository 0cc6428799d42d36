"""`receiver doctor --journal`: does the PostgreSQL journal's database let in only the receiver, and enough of it?

Three parts, kept apart as the data repository's doctor keeps them:

- `read_facts` asks the catalogs, on a connection made as the receiver's
  own role, who may connect to the database, who may create tables on the
  receiver's search path, what the receiver's role may do and own, and who
  may touch the advisory-lock secret (`receiver_lock_secret`).
- `judge` turns those facts into four `GrantCheck`s: a verdict, what was
  found, and for a failure the exact SQL a DBA runs (identifiers quoted).
  It does no I/O.
- `report_text` and `report_json` print them; `run_grants_doctor` does all three.

It changes nothing: the SQL it names is for a person to run, as the
database's owner or a superuser. It judges the database as deploy/README.md
sets it up (the database is the receiver's own); superusers, who read
everything, are beyond what grants can close.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, TextIO

import psycopg
from psycopg import sql

from receiver.journal.connector import JournalUnavailable
from receiver.journal.postgres import _SECRET_TABLE, describe, set_lock_timeout

__all__ = ["GrantCheck", "GrantFacts", "judge", "read_facts", "report_json", "report_text", "run_grants_doctor"]

_AS_ADMIN = "as the database's owner or a superuser, connected to the journal's database, run: "


@dataclass(frozen=True)
class GrantFacts:
    """What the catalogs say about the journal's database, as the receiver's role sees it."""

    database: str
    role: str
    superuser: bool
    #: PUBLIC (every role that can log in) holds CONNECT on the database.
    public_connects: bool
    #: The role holds CONNECT by a grant of its own (or a role it inherits), not only through PUBLIC's.
    role_connects: bool
    #: The existing schemas on the receiver's search path, in order (`current_schemas(false)`).
    search_path: tuple[str, ...]
    #: Of those, the schemas where PUBLIC may CREATE.
    public_creates_in: tuple[str, ...]
    #: Where the receiver's tables are made (`current_schema()`); None when no schema on the search path exists.
    schema: str | None
    #: The role holds USAGE and CREATE on `schema`.
    role_creates: bool
    #: Tables in `schema` owned by a role the receiver's is not a member of: (table, owner).
    foreign_tables: tuple[tuple[str, str], ...]
    #: The lock secret's table as (schema, table); None when it does not exist yet.
    secret_table: tuple[str, str] | None = None
    secret_owner: str = ""
    #: The receiver's role is (a member of) the secret table's owner.
    secret_owned: bool = True
    #: PUBLIC holds some privilege on the secret table.
    secret_public: bool = False
    #: Other named roles holding privileges on the secret table, besides its owner.
    secret_grantees: tuple[str, ...] = ()


@dataclass(frozen=True)
class GrantCheck:
    """One verdict: what was found (`detail`) and, unless it passed, the sentence to act on and its SQL statements."""

    name: str
    passed: bool
    detail: str
    fix: str = ""
    sql: tuple[str, ...] = ()


# -- reading (I/O) -------------------------------------------------------------

_ABOUT = """
SELECT current_database(), current_user, r.rolsuper,
       has_database_privilege('public', current_database(), 'CONNECT'),
       r.rolsuper OR EXISTS (
           SELECT 1 FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) AS a
           WHERE a.privilege_type = 'CONNECT' AND a.grantee <> 0 AND pg_has_role(current_user, a.grantee, 'USAGE')),
       current_schemas(false), current_schema(),
       coalesce(has_schema_privilege(current_schema(), 'USAGE') AND has_schema_privilege(current_schema(), 'CREATE'), false)
FROM pg_database AS d, pg_roles AS r
WHERE d.datname = current_database() AND r.rolname = current_user
"""

_PUBLIC_CREATES = "SELECT s FROM unnest(current_schemas(false)) WITH ORDINALITY AS p(s, n) WHERE has_schema_privilege('public', s, 'CREATE') ORDER BY n"

_FOREIGN_TABLES = """
SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.oid IS DISTINCT FROM to_regclass(%(secret)s)
  AND NOT pg_has_role(current_user, c.relowner, 'MEMBER')
ORDER BY c.relname
"""

# The table is found as the receiver finds it (`to_regclass` through the search path), planted copies included.
_SECRET = """
SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner), pg_has_role(current_user, c.relowner, 'MEMBER'),
       EXISTS (SELECT 1 FROM aclexplode(c.relacl) AS a WHERE a.grantee = 0),
       ARRAY(SELECT DISTINCT pg_get_userbyid(a.grantee) FROM aclexplode(c.relacl) AS a
             WHERE a.grantee <> 0 AND a.grantee <> c.relowner ORDER BY 1)
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass(%(secret)s)
"""


def read_facts(connection: psycopg.Connection[Any]) -> GrantFacts:
    """Read every fact `judge` needs from the catalogs, over the receiver's own connection (so the facts are its role's)."""
    about = connection.execute(_ABOUT).fetchone()
    if about is None:
        raise JournalUnavailable("the journal's database does not describe itself in pg_database; check RECEIVER_JOURNAL")
    database, role, superuser, public_connects, role_connects, search_path, schema, role_creates = about
    public_creates_in = tuple(row[0] for row in connection.execute(_PUBLIC_CREATES).fetchall())
    foreign = tuple((str(row[0]), str(row[1])) for row in connection.execute(_FOREIGN_TABLES, {"secret": _SECRET_TABLE}).fetchall())
    facts = GrantFacts(
        database=str(database),
        role=str(role),
        superuser=bool(superuser),
        public_connects=bool(public_connects),
        role_connects=bool(role_connects),
        search_path=tuple(search_path or ()),
        public_creates_in=public_creates_in,
        schema=None if schema is None else str(schema),
        role_creates=bool(role_creates),
        foreign_tables=foreign,
    )
    secret = connection.execute(_SECRET, {"secret": _SECRET_TABLE}).fetchone()
    if secret is None:
        return facts
    where, table, owner, owned, public, grantees = secret
    return replace(
        facts,
        secret_table=(str(where), str(table)),
        secret_owner=str(owner),
        secret_owned=bool(owned),
        secret_public=bool(public),
        secret_grantees=tuple(grantees or ()),
    )


# -- judging (pure) ------------------------------------------------------------


def _name(*parts: str) -> str:
    """An identifier (or schema-qualified name) quoted for SQL, whatever characters it holds."""
    return sql.Identifier(*parts).as_string(None)


def _public_connect_check(facts: GrantFacts) -> GrantCheck:
    database = _name(facts.database)
    if not facts.public_connects:
        return GrantCheck("public connect", True, f"PUBLIC may not connect to {facts.database}")
    statements = () if facts.role_connects else (f"GRANT CONNECT ON DATABASE {database} TO {_name(facts.role)};",)
    # Without its own grant first, the REVOKE would shut the receiver out with everyone else.
    statements += (f"REVOKE CONNECT, TEMPORARY ON DATABASE {database} FROM PUBLIC;",)
    return GrantCheck(
        "public connect",
        False,
        f"PUBLIC may connect to {facts.database} (PostgreSQL's default), so every role that can log in may take advisory locks there"
        " and read whatever PUBLIC may read",
        _AS_ADMIN + " ".join(statements),
        statements,
    )


def _public_create_check(facts: GrantFacts) -> GrantCheck:
    if not facts.public_creates_in:
        shown = ", ".join(facts.search_path) or "none exists"
        return GrantCheck("public create", True, f"PUBLIC may not create tables in the receiver's schemas ({shown})")
    statements = tuple(f"REVOKE CREATE ON SCHEMA {_name(schema)} FROM PUBLIC;" for schema in facts.public_creates_in)
    return GrantCheck(
        "public create",
        False,
        f"PUBLIC may create tables in {', '.join(facts.public_creates_in)} on the receiver's search path, so another role can plant"
        f" a table the receiver would read (such as {_SECRET_TABLE})",
        _AS_ADMIN + " ".join(statements),
        statements,
    )


def _role_check(facts: GrantFacts) -> GrantCheck:
    role = _name(facts.role)
    problems: list[str] = []
    statements: list[str] = []
    if not facts.role_connects:
        problems.append(f"{facts.role} may connect to {facts.database} only because PUBLIC may")
        statements.append(f"GRANT CONNECT ON DATABASE {_name(facts.database)} TO {role};")
    if facts.schema is None:
        problems.append(f"no schema on {facts.role}'s search path exists, so it has nowhere to make its tables")
        # PostgreSQL's default search_path starts with "$user": a schema named for the role comes first.
        statements.append(f"CREATE SCHEMA {role} AUTHORIZATION {role};")
    elif not facts.role_creates:
        # The receiver runs CREATE TABLE IF NOT EXISTS at every start, which needs CREATE even when the tables exist.
        problems.append(f"{facts.role} may not create tables in schema {facts.schema}, which every start of the receiver does")
        statements.append(f"GRANT USAGE, CREATE ON SCHEMA {_name(facts.schema)} TO {role};")
    if facts.schema is not None and facts.foreign_tables:
        shown = ", ".join(f"{table} (owner {owner})" for table, owner in facts.foreign_tables)
        problems.append(f"tables in {facts.schema} belong to other roles, so the receiver cannot index or change them: {shown}")
        statements.extend(f"ALTER TABLE {_name(facts.schema, table)} OWNER TO {role};" for table, _owner in facts.foreign_tables)
    if facts.secret_table is not None and not facts.secret_owned:
        # Not handed over: whoever made it knows the secret in it. The receivers make a new one at start.
        problems.append(f"{_SECRET_TABLE} belongs to {facts.secret_owner}, who may know the secret, so the receiver refuses to start")
        statements.append(f"DROP TABLE {_name(*facts.secret_table)};")
    if problems:
        return GrantCheck("receiver role", False, "; ".join(problems), _AS_ADMIN + " ".join(statements), tuple(statements))
    secret = f"owns {_SECRET_TABLE}" if facts.secret_table is not None else f"will make {_SECRET_TABLE} at its first start"
    superuser = " (a superuser, which needs no grants; deploy/README.md runs the receiver as an ordinary role)" if facts.superuser else ""
    return GrantCheck(
        "receiver role",
        True,
        f"{facts.role}{superuser} connects to {facts.database} by its own grant, creates tables in schema {facts.schema},"
        f" owns every table there, and {secret}",
    )


def _secret_check(facts: GrantFacts) -> GrantCheck:
    if facts.secret_table is None:
        return GrantCheck("lock secret", True, f"{_SECRET_TABLE} does not exist yet; the receiver makes it readable by its owner only")
    shown = ".".join(facts.secret_table)
    others = (["PUBLIC"] if facts.secret_public else []) + list(facts.secret_grantees)
    if not others:
        return GrantCheck("lock secret", True, f"only {facts.secret_owner}, its owner, may read {shown}")
    grantees = ", ".join((["PUBLIC"] if facts.secret_public else []) + [_name(role) for role in facts.secret_grantees])
    statement = f"REVOKE ALL ON TABLE {_name(*facts.secret_table)} FROM {grantees};"
    return GrantCheck(
        "lock secret",
        False,
        f"{', '.join(others)} may read or change {shown} besides its owner {facts.secret_owner},"
        " so they may know or replace the secret the receivers' advisory-lock keys are drawn from",
        _AS_ADMIN + statement + f" Then, since the secret may be known, stop every receiver, DROP TABLE {_name(*facts.secret_table)};"
        " and start them again: the first makes a new secret",
        (statement,),
    )


def judge(facts: GrantFacts) -> list[GrantCheck]:
    """Every check over the facts, in the order a DBA would fix them; pure, so each verdict is tested without a database."""
    return [_public_connect_check(facts), _public_create_check(facts), _role_check(facts), _secret_check(facts)]


# -- reporting -----------------------------------------------------------------


def report_text(found: Sequence[GrantCheck], out: TextIO) -> bool:
    """One line per check (verdict, name, what was found, the SQL to run), then a count; True when all passed."""
    for check in found:
        fix = "" if check.passed else f"; {check.fix}"
        out.write(f"{'PASS' if check.passed else 'FAIL'} {check.name}: {check.detail}{fix}\n")
    passed = sum(1 for check in found if check.passed)
    out.write(f"{passed} of {len(found)} checks pass\n")
    return passed == len(found)


def report_json(found: Sequence[GrantCheck], out: TextIO, journal: str) -> bool:
    """The checks as one JSON document, the way `receiver doctor --format json` prints the data repository's; True when all passed."""
    ok = all(check.passed for check in found)
    json.dump({"journal": journal, "passed": ok, "checks": [asdict(check) for check in found]}, out, indent=2)
    out.write("\n")
    return ok


def run_grants_doctor(url: str, out: TextIO, *, output: str = "text") -> int:
    """Read the facts as the receiver's role, judge, report; 0 when every check passes, else 1.

    Raises `JournalUnavailable`, with a sentence naming the database (never its password), when it cannot be read.
    """
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5, application_name="receiver doctor") as connection:
            set_lock_timeout(connection)
            facts = read_facts(connection)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise JournalUnavailable(
            f"the PostgreSQL journal ({describe(url)}) cannot be read: {reason}; check RECEIVER_JOURNAL and that the database runs"
        ) from exc
    found = judge(facts)
    ok = report_json(found, out, describe(url)) if output == "json" else report_text(found, out)
    return 0 if ok else 1
