"""The schema comes from migrations, and migrations agree with the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from ihospital import models  # noqa: F401  (fills the metadata)
from ihospital.db import Base, make_engine
from ihospital.migrate import downgrade, upgrade


def _diff(connection):
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_as_batch": True}
    )
    return compare_metadata(context, Base.metadata)


async def test_models_and_migrations_agree(engine):
    async with engine.connect() as connection:
        diff = await connection.run_sync(_diff)
    assert diff == []


async def test_migrations_run_down_to_empty_and_up_again(databases):
    import asyncio

    url = await databases.fresh()
    await asyncio.to_thread(downgrade, url, "base")
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
    finally:
        await engine.dispose()
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            count = (
                await connection.execute(text("SELECT count(*) FROM department_codes"))
            ).scalar()
            diff = await connection.run_sync(_diff)
        assert count >= 40
        assert diff == []
    finally:
        await engine.dispose()
