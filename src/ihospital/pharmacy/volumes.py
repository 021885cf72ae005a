"""How much of a drug each 就诊人 bought in a period, for the supervision rule on one patient's
purchases far above normal (R19.1).

A purchase counts from its payment (``paid_at``) unless the order was cancelled or refunded; the
quantities are summed per 就诊人 over the orders of one institution.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.pharmacy.models import ENDED, PharmacyOrder, PharmacyOrderItem


async def order_drugs(session: AsyncSession, order_id: int) -> dict[int, str]:
    """The drugs of an order: id → name as bought."""
    rows = await session.execute(
        select(PharmacyOrderItem.drug_id, PharmacyOrderItem.drug_name).where(
            PharmacyOrderItem.order_id == order_id
        )
    )
    return dict(rows.all())


async def purchase_volumes(
    session: AsyncSession, *, institution_id: int, drug_id: int, since: datetime, until: datetime
) -> dict[int, int]:
    """The quantity of ``drug_id`` each 就诊人 bought at the institution, paid in [since, until)."""
    rows = await session.execute(
        select(PharmacyOrder.patient_id, func.sum(PharmacyOrderItem.quantity))
        .join(PharmacyOrderItem, PharmacyOrderItem.order_id == PharmacyOrder.id)
        .where(
            PharmacyOrder.institution_id == institution_id,
            PharmacyOrderItem.drug_id == drug_id,
            PharmacyOrder.status.not_in(ENDED),
            PharmacyOrder.paid_at >= since,
            PharmacyOrder.paid_at < until,
        )
        .group_by(PharmacyOrder.patient_id)
    )
    return {patient: int(quantity) for patient, quantity in rows.all()}
