"""The ORM models match the migrated schema column for column (migrations own the schema)."""

from sqlalchemy import inspect

from db.models import Base


def test_every_model_column_exists_in_the_database(engine):
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        missing = {c.name for c in table.columns} - columns
        assert not missing, f"{table.name} lacks {missing}"
