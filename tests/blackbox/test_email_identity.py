"""E-mail addresses are one account in any letter case, and in nothing else:
böb@ and bob@ are two accounts (utf8mb4_unicode_ci made them one), and
sql/002_email_case_only.sql migrates a database made by version 1."""
import os
import uuid

import requests

from conftest import PASSWORD, ROOT, admin_sql, bearer, database_at_version, login, migrate, register, sql, url


def address(local):
    return f"{local}.{uuid.uuid4().hex[:10]}@camelot.bt"


def me(email, password=PASSWORD):
    return requests.get(url("/users/me"), headers=bearer(login(email, password))).json()


def test_an_accent_makes_another_account_and_each_login_finds_its_own():
    tag = uuid.uuid4().hex[:10]
    bob = register(f"bob.{tag}@camelot.bt", "bob-has-a-password")
    boeb = register(f"böb.{tag}@camelot.bt", "böb-has-another-one")
    assert bob["id"] != boeb["id"]
    assert me(f"bob.{tag}@camelot.bt", "bob-has-a-password")["id"] == bob["id"]
    assert me(f"böb.{tag}@camelot.bt", "böb-has-another-one")["id"] == boeb["id"]
    # The other's password opens neither.
    r = requests.post(url("/auth/jwt/login"), data={"username": f"böb.{tag}@camelot.bt",
                                                    "password": "bob-has-a-password"})
    assert r.json() == {"detail": "LOGIN_BAD_CREDENTIALS"}


def test_letter_case_still_folds_for_register_login_and_update():
    tag = uuid.uuid4().hex[:10]
    bob = register(f"bob.{tag}@camelot.bt")
    r = requests.post(url("/auth/register"), json={"email": f"BOB.{tag}@CAMELOT.BT", "password": PASSWORD})
    assert r.json() == {"detail": "REGISTER_USER_ALREADY_EXISTS"}
    assert me(f"BOB.{tag}@camelot.bt")["id"] == bob["id"]
    assert me(f"BÖB.{tag}@camelot.bt".replace("Ö", "O"))["id"] == bob["id"]
    # Upper-case accented letters fold to theirs.
    boeb = register(f"böb.{tag}@camelot.bt")
    assert me(f"BÖB.{tag}@camelot.bt")["id"] == boeb["id"]
    # böb may take bób (another address) but not BOB (bob's).
    token = login(f"böb.{tag}@camelot.bt")
    taken = requests.patch(url("/users/me"), headers=bearer(token), json={"email": f"BOB.{tag}@camelot.bt"})
    assert taken.json() == {"detail": "UPDATE_USER_EMAIL_ALREADY_EXISTS"}
    moved = requests.patch(url("/users/me"), headers=bearer(token), json={"email": f"bób.{tag}@camelot.bt"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["email"] == f"bób.{tag}@camelot.bt"


def test_migration_2_takes_over_a_version_1_database(tmp_path):
    # A database made by version 1 (sql/001 alone), with users in it.
    with database_at_version(tmp_path, 1) as db:
        rows = admin_sql("INSERT INTO user (id, email, hashed_password) VALUES "
                         "(UUID(), 'Mixed.Case@camelot.bt', 'x'), (UUID(), 'plain@camelot.bt', 'y')", db)
        assert rows.returncode == 0, rows.stderr
        blind = admin_sql("INSERT INTO user (id, email, hashed_password) VALUES (UUID(), 'mixed.cáse@camelot.bt', 'z')",
                          db)
        assert blind.returncode != 0 and "Duplicate" in blind.stderr  # version 1's accent-blind index

        assert "applied 002_email_case_only.sql" in migrate(db, os.path.join(ROOT, "sql"))
        keys = admin_sql("SELECT email, email_key FROM user ORDER BY email", db)
        assert keys.stdout.splitlines() == ["Mixed.Case@camelot.bt\tmixed.case@camelot.bt",
                                            "plain@camelot.bt\tplain@camelot.bt"]
        accented = admin_sql("INSERT INTO user (id, email, hashed_password) VALUES (UUID(), 'mixed.cáse@camelot.bt', 'z')",
                             db)
        assert accented.returncode == 0, accented.stderr
        same = admin_sql("INSERT INTO user (id, email, hashed_password) VALUES (UUID(), 'MIXED.case@camelot.bt', 'w')", db)
        assert same.returncode != 0 and "Duplicate" in same.stderr


def test_the_admin_queries_of_sql_admin_sql_change_only_the_named_account():
    tag = uuid.uuid4().hex[:10]
    bob = register(f"bob.{tag}@camelot.bt")
    boeb = register(f"böb.{tag}@camelot.bt")
    statements = open(os.path.join(ROOT, "sql", "admin.sql")).read().split(";")
    promote = next(s for s in statements if "SET is_superuser = TRUE" in s)
    sql(promote.replace("someone@example.com", f"BOB.{tag}@camelot.bt"))
    flags = dict(sql(f"SELECT id, is_superuser FROM user WHERE id IN ('{bob['id']}', '{boeb['id']}')"))
    assert flags == {bob["id"]: "1", boeb["id"]: "0"}
