"""A row's fingerprint decides whether an import writes it: a field added to a table later, as
an empty map, must not make every row of an unchanged export look changed."""

from services.portfolio.roster_import.sync import fingerprint

TEACHER = {"id": "t-rivera", "given_name": "Ana", "sites": ["conway"], "administers": []}


def test_an_empty_map_leaves_the_fingerprint_as_it_was_without_the_field() -> None:
    assert fingerprint({**TEACHER, "administrator_roles": {}}) == fingerprint(TEACHER)


def test_any_change_of_a_field_changes_the_fingerprint() -> None:
    plain = fingerprint(TEACHER)
    assert fingerprint({**TEACHER, "administrator_roles": {"r-1": "conway"}}) != plain
    assert fingerprint({**TEACHER, "administers": ["conway"]}) != plain
    assert fingerprint({**TEACHER, "given_name": "Anna"}) != plain
