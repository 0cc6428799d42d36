"""The journal's grants: which checks fail on which databases, and that the SQL each failure names fixes it.

The judgement is tested on values; the reading and the fixes on a real
cluster, with an ordinary (not superuser) role for the receiver, set up with
exactly the statements deploy/README.md gives a DBA.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from receiver.journal.engines import open_journal
from receiver.journal.grants import GrantCheck, GrantFacts, judge, read_facts, run_grants_doctor
from tests.support.pgcluster import Cluster

__all__ = ["Location", "checks_of", "documented_grants", "documented_receiver", "run_as_admin"]

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Location:
    """What `open_journal` reads from the settings."""

    journal_url: str
    journal_path: Path = Path("unused.sqlite3")


def documented_grants() -> list[str]:
    """The SQL of every `psql -c '...'` line in deploy/README.md's section on the database's grants, in order."""
    text = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    section = text.split("### The database's grants", 1)[1].split("\n#", 1)[0]
    return re.findall(r"psql (?:-d \w+ )?-c '([^']+)'", section)


def run_as_admin(url: str, statements: list[str] | tuple[str, ...]) -> None:
    """Run statements as the cluster's superuser, connected to the database `url` names."""
    admin_url = re.sub(r"^postgresql://[^@]+@", "postgresql://receiver@", url)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for statement in statements:
            admin.execute(statement.encode())


def documented_receiver(cluster: Cluster) -> str:
    """A receiver role and database made as deploy/README.md makes them (createuser, createdb -O, its grants); the role's URL."""
    role, database = f"rcv_{uuid.uuid4().hex[:8]}", f"journal_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        # What `createuser` and `createdb -O` do: a login role that is not a superuser, owning a new database.
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'not-checked-by-the-test-cluster'").format(sql.Identifier(role)))
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(role)))
    # The README names both the role and the database `receiver`; here they are this test's.
    statements = [
        re.sub(r"\bTO receiver\b", f'TO "{role}"', re.sub(r"\bDATABASE receiver\b", f'DATABASE "{database}"', statement))
        for statement in documented_grants()
    ]
    run_as_admin(cluster.url(database), statements)
    return cluster.url(database).replace("postgresql://receiver@", f"postgresql://{role}@", 1)


def checks_of(url: str) -> dict[str, GrantCheck]:
    """The judgement of the database at `url`, read as the role `url` logs in as, by check name."""
    with psycopg.connect(url, autocommit=True) as connection:
        return {check.name: check for check in judge(read_facts(connection))}


def open_once(url: str) -> None:
    open_journal(Location(url)).close()


def role_of(url: str) -> str:
    return url.split("://", 1)[1].split("@", 1)[0]


def database_of(url: str) -> str:
    return url.split("@/", 1)[1].split("?", 1)[0]


# -- the judgement, on values ---------------------------------------------------

SOUND = GrantFacts(
    database="receiver",
    role="receiver",
    superuser=False,
    public_connects=False,
    role_connects=True,
    search_path=("public",),
    public_creates_in=(),
    schema="public",
    role_creates=True,
    foreign_tables=(),
    secret_table=("public", "receiver_lock_secret"),
    secret_owner="receiver",
)


class TestJudge:
    def test_a_database_set_up_as_documented_passes_every_check(self) -> None:
        """Four checks, all passing, none naming SQL."""
        found = judge(SOUND)
        assert [check.name for check in found] == ["public connect", "public create", "receiver role", "lock secret"]
        assert all(check.passed and check.sql == () for check in found)

    def test_public_connect_names_the_revoke(self) -> None:
        """PUBLIC's default CONNECT fails, with the REVOKE of CONNECT and TEMPORARY, the database's name quoted."""
        check = judge(replace(SOUND, database='odd "name"', public_connects=True))[0]
        assert not check.passed
        assert check.sql == ('REVOKE CONNECT, TEMPORARY ON DATABASE "odd ""name""" FROM PUBLIC;',)
        assert check.fix.endswith('REVOKE CONNECT, TEMPORARY ON DATABASE "odd ""name""" FROM PUBLIC;')

    def test_the_revoke_comes_after_a_grant_when_the_role_connects_only_through_public(self) -> None:
        """Else running the printed SQL would shut the receiver out too."""
        check = judge(replace(SOUND, public_connects=True, role_connects=False))[0]
        assert check.sql == ('GRANT CONNECT ON DATABASE "receiver" TO "receiver";', 'REVOKE CONNECT, TEMPORARY ON DATABASE "receiver" FROM PUBLIC;')

    def test_public_create_on_the_search_path_names_the_revoke(self) -> None:
        check = judge(replace(SOUND, public_creates_in=("public",)))[1]
        assert not check.passed
        assert check.sql == ('REVOKE CREATE ON SCHEMA "public" FROM PUBLIC;',)
        assert "receiver_lock_secret" in check.detail

    def test_a_role_without_its_own_connect_is_told_the_grant(self) -> None:
        check = judge(replace(SOUND, role_connects=False))[2]
        assert not check.passed and check.sql == ('GRANT CONNECT ON DATABASE "receiver" TO "receiver";',)

    def test_a_role_that_cannot_create_in_its_schema_fails_even_when_its_tables_exist(self) -> None:
        """Every start runs CREATE TABLE IF NOT EXISTS, which PostgreSQL refuses without CREATE on the schema."""
        check = judge(replace(SOUND, role_creates=False))[2]
        assert not check.passed and check.sql == ('GRANT USAGE, CREATE ON SCHEMA "public" TO "receiver";',)

    def test_a_search_path_without_any_schema_is_told_to_make_the_roles_own(self) -> None:
        check = judge(replace(SOUND, schema=None, search_path=(), role_creates=False))[2]
        assert not check.passed and check.sql == ('CREATE SCHEMA "receiver" AUTHORIZATION "receiver";',)

    def test_tables_owned_by_another_role_are_handed_to_the_receiver(self) -> None:
        check = judge(replace(SOUND, foreign_tables=(("records", "postgres"), ("status", "postgres"))))[2]
        assert not check.passed
        assert check.sql == ('ALTER TABLE "public"."records" OWNER TO "receiver";', 'ALTER TABLE "public"."status" OWNER TO "receiver";')
        assert "records (owner postgres)" in check.detail

    def test_a_lock_secret_made_by_another_role_is_dropped_not_handed_over(self) -> None:
        """Its maker may know the secret; the receivers make a new one."""
        check = judge(replace(SOUND, secret_owner="mallory", secret_owned=False))[2]
        assert not check.passed and check.sql == ('DROP TABLE "public"."receiver_lock_secret";',)

    def test_a_lock_secret_not_yet_made_passes(self) -> None:
        found = judge(replace(SOUND, secret_table=None, secret_owner=""))
        assert found[2].passed and found[3].passed and "does not exist yet" in found[3].detail

    def test_a_lock_secret_others_may_read_names_the_revoke_from_each(self) -> None:
        """PUBLIC and each named role lose every privilege; the sentence says to make a new secret after."""
        check = judge(replace(SOUND, secret_public=True, secret_grantees=("reporting",)))[3]
        assert not check.passed
        assert check.sql == ('REVOKE ALL ON TABLE "public"."receiver_lock_secret" FROM PUBLIC, "reporting";',)
        assert "DROP TABLE" in check.fix and "stop every receiver" in check.fix

    def test_every_failing_check_names_its_sql_in_its_sentence(self) -> None:
        broken = GrantFacts(
            database="receiver",
            role="receiver",
            superuser=False,
            public_connects=True,
            role_connects=False,
            search_path=("public",),
            public_creates_in=("public",),
            schema="public",
            role_creates=False,
            foreign_tables=(("records", "postgres"),),
            secret_table=("public", "receiver_lock_secret"),
            secret_owner="receiver",
            secret_public=True,
        )
        found = judge(broken)
        assert not any(check.passed for check in found)
        assert all(check.sql and all(statement in check.fix for statement in check.sql) for check in found)


# -- on a real cluster ----------------------------------------------------------


class TestOnPostgres:
    def test_a_fresh_database_fails_public_connect_with_the_revoke(self, postgres_cluster: Cluster) -> None:
        """PostgreSQL grants PUBLIC CONNECT on every new database; the check names the REVOKE for this one."""
        url = postgres_cluster.database()
        check = checks_of(url)["public connect"]
        assert not check.passed
        assert f'REVOKE CONNECT, TEMPORARY ON DATABASE "{database_of(url)}" FROM PUBLIC;' in check.fix

    def test_after_the_printed_sql_public_connect_passes(self, postgres_cluster: Cluster) -> None:
        url = postgres_cluster.database()
        run_as_admin(url, checks_of(url)["public connect"].sql)
        assert checks_of(url)["public connect"].passed

    def test_the_readme_gives_the_dba_three_statements(self) -> None:
        """The test below runs them; it must find them."""
        assert [statement.split()[0] for statement in documented_grants()] == ["REVOKE", "GRANT", "REVOKE"]

    def test_the_documented_grants_are_enough_for_an_ordinary_role(self, postgres_cluster: Cluster) -> None:
        """A role set up only as deploy/README.md says opens the journal, and then passes every check."""
        url = documented_receiver(postgres_cluster)
        open_once(url)
        found = checks_of(url)
        assert [(name, check.passed) for name, check in found.items()] == [
            ("public connect", True),
            ("public create", True),
            ("receiver role", True),
            ("lock secret", True),
        ]
        assert "owns receiver_lock_secret" in found["receiver role"].detail

    def test_the_facts_are_the_receivers_role_not_a_superuser(self, postgres_cluster: Cluster) -> None:
        url = documented_receiver(postgres_cluster)
        with psycopg.connect(url, autocommit=True) as connection:
            facts = read_facts(connection)
        assert (facts.role, facts.database, facts.superuser) == (role_of(url), database_of(url), False)

    def test_a_role_on_someone_elses_database_is_told_every_grant_and_then_works(self, postgres_cluster: Cluster) -> None:
        """The role connects only through PUBLIC and cannot create; after every printed statement it opens the journal and passes."""
        url = postgres_cluster.database()
        role = f"rcv_{uuid.uuid4().hex[:8]}"
        run_as_admin(url, [f'CREATE ROLE "{role}" LOGIN'])
        role_url = url.replace("postgresql://receiver@", f"postgresql://{role}@", 1)
        found = checks_of(role_url)
        assert not found["receiver role"].passed
        assert found["receiver role"].sql == (
            f'GRANT CONNECT ON DATABASE "{database_of(url)}" TO "{role}";',
            f'GRANT USAGE, CREATE ON SCHEMA "public" TO "{role}";',
        )
        run_as_admin(url, [statement for check in found.values() for statement in check.sql])
        open_once(role_url)
        assert all(check.passed for check in checks_of(role_url).values())

    @pytest.mark.parametrize(
        ("name", "breakage"),
        [
            ("public create", "GRANT CREATE ON SCHEMA public TO PUBLIC"),
            ("receiver role", "REVOKE CREATE ON SCHEMA public FROM pg_database_owner"),
            ("receiver role", "ALTER TABLE status OWNER TO {other}"),
            ("lock secret", "GRANT SELECT ON receiver_lock_secret TO PUBLIC"),
            ("lock secret", "GRANT UPDATE ON receiver_lock_secret TO {other}"),
        ],
    )
    def test_each_breakage_fails_its_check_until_the_printed_sql_is_run(self, postgres_cluster: Cluster, name: str, breakage: str) -> None:
        """`{other}` is a role that is not the receiver's."""
        url = documented_receiver(postgres_cluster)
        open_once(url)
        other = f'"other_{uuid.uuid4().hex[:8]}"'
        run_as_admin(url, [f"CREATE ROLE {other}", breakage.format(other=other)])
        broken = checks_of(url)[name]
        assert not broken.passed and broken.sql
        run_as_admin(url, broken.sql)
        assert checks_of(url)[name].passed

    def test_a_planted_lock_secret_is_named_for_dropping(self, postgres_cluster: Cluster) -> None:
        """A table the receiver's role does not own fails the role check; dropping it lets the receiver make its own."""
        url = documented_receiver(postgres_cluster)
        run_as_admin(url, ["CREATE TABLE public.receiver_lock_secret (only_row BOOLEAN PRIMARY KEY, secret BYTEA NOT NULL)"])
        check = checks_of(url)["receiver role"]
        assert check.sql == ('DROP TABLE "public"."receiver_lock_secret";',)
        run_as_admin(url, check.sql)
        open_once(url)
        assert checks_of(url)["receiver role"].passed


class TestRunGrantsDoctor:
    def test_it_prints_one_line_per_check_and_answers_one_when_any_fails(self, postgres_cluster: Cluster) -> None:
        out = io.StringIO()
        assert run_grants_doctor(postgres_cluster.database(), out) == 1
        lines = out.getvalue().splitlines()
        assert [line.split(":")[0] for line in lines[:4]] == ["FAIL public connect", "PASS public create", "PASS receiver role", "PASS lock secret"]
        assert lines[4] == "3 of 4 checks pass"

    def test_json_carries_each_checks_sql(self, postgres_cluster: Cluster) -> None:
        out = io.StringIO()
        url = postgres_cluster.database()
        run_grants_doctor(url, out, output="json")
        document = json.loads(out.getvalue())
        assert document["passed"] is False and document["journal"].startswith(f"database {database_of(url)} on ")
        assert document["checks"][0]["sql"] == [f'REVOKE CONNECT, TEMPORARY ON DATABASE "{database_of(url)}" FROM PUBLIC;']
