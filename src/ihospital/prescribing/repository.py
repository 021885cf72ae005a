"""Reads of prescriptions shared by the writing, review, verification and patient pieces."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.errors import NotFound
from ihospital.prescribing.models import PrescriptionItem


def prescription_not_found(prescription_id: int) -> NotFound:
    return NotFound(
        "prescribing.prescription_not_found",
        "Prescription {prescription_id} was not found.",
        prescription_id=prescription_id,
    )


async def prescription_items(session: AsyncSession, prescription_id: int) -> list[PrescriptionItem]:
    """The items of a prescription in their written order."""
    return list(
        await session.scalars(
            select(PrescriptionItem)
            .where(PrescriptionItem.prescription_id == prescription_id)
            .order_by(PrescriptionItem.position)
        )
    )
