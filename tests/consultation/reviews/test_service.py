"""Reviews as services: personal data is masked before storing, abusive text is held and only
published reviews count on the doctor's rating; one review per consultation, one reply."""

from typing import get_args

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.consultation.models import Consultation
from ihospital.consultation.reviews.models import TAGS
from ihospital.consultation.reviews.reading import doctor_rating
from ihospital.consultation.reviews.schemas import Tag
from ihospital.consultation.reviews.service import (
    moderate_review,
    rate_consultation,
    reply_to_review,
)
from ihospital.consultation.reviews.text import abusive_words, mask_personal_data
from ihospital.errors import Conflict
from ihospital.outbox.models import OutboxEvent
from tests.booking.builders import booker
from tests.consultation.builders import doctor_actor, make_practice
from tests.consultation.reviews.builders import closed, rated
from tests.identity.builders import make_patient

TEMPLATES = "src/ihospital/web/templates/consultation/_review_labels.html"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话13812345678找我", "电话138****5678找我"),
        ("call +86 138-1234-5678 now", "call 138****5678 now"),
        ("身份证110105199001011234", "身份证1101**********1234"),
        ("身份证11010519900101123X。", "身份证1101**********123X。"),
        ("mail zhang.san@example.com", "mail z***@example.com"),
        ("订单号 12345678901234 不变", "订单号 12345678901234 不变"),
    ],
    ids=["mobile", "mobile-86-hyphens", "resident-id", "resident-id-x", "email", "other-digits"],
)
def test_personal_data_is_masked(text, masked):
    assert mask_personal_data(text) == masked


def test_the_patient_name_is_masked_in_the_text():
    assert mask_personal_data("张三丰很满意", names=("张三丰", None)) == "张*丰很满意"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("这个庸医", ["庸医"]),
        ("You IDIOT", ["idiot"]),
        ("你是idiot吗", ["idiot"]),
        ("Idiotic is not on the list", []),
        ("医生很耐心", []),
    ],
    ids=["zh", "en-case", "en-in-zh", "en-part-of-word", "clean"],
)
def test_abusive_words_are_found(text, words):
    assert abusive_words(text) == words


def test_the_api_and_the_page_know_every_tag():
    assert get_args(Tag) == TAGS


def test_the_page_labels_every_tag():
    with open(TEMPLATES, encoding="utf-8") as handle:
        labels = handle.read()
    assert all(f'"{tag}": _(' in labels for tag in TAGS)


async def test_a_review_is_masked_stored_audited_and_published(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    patient = await make_patient(session, clock=clock, name="张三")
    review = await rated(session, clock, practice, patient, stars=4, text="张三的电话13812345678")

    assert (review.status, review.stars, review.tag_list) == ("published", 4, ["clear"])
    assert review.text == "张*的电话138****5678"
    assert review.patient_name_masked == "张*"
    consultation = await session.get(Consultation, review.consultation_id)
    assert (consultation.status, consultation.rated_at) == ("closed", clock.now())
    audited = await session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_id == str(consultation.id))
    )
    assert "consultation.reviewed" in audited.all()
    topics = await session.scalars(select(OutboxEvent.topic))
    assert "consultation.reviewed" in topics.all()


async def test_abusive_text_is_held_until_the_institution_approves(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    review = await rated(
        session, clock, practice, await make_patient(session, clock=clock), text="垃圾医生"
    )
    assert (review.status, review.held_words) == ("held", "垃圾医生")
    assert (await doctor_rating(session, practitioner_id=practice.doctor.id)).count == 0

    admin = practice.admin_actor(clock)
    await moderate_review(session, admin, review_id=review.id, decision="approve")

    rating = await doctor_rating(session, practitioner_id=practice.doctor.id)
    assert (rating.count, [r.id for r in rating.recent]) == (1, [review.id])
    with pytest.raises(Conflict) as refused:
        await moderate_review(session, admin, review_id=review.id, decision="reject")
    assert refused.value.code == "review.not_held"


async def test_the_rating_averages_published_reviews_only(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    for stars, text in ((5, None), (4, "讲得清楚"), (4, None), (1, "fuck")):
        await rated(
            session,
            clock,
            practice,
            await make_patient(session, clock=clock),
            stars=stars,
            text=text,
        )

    rating = await doctor_rating(session, practitioner_id=practice.doctor.id)

    assert (str(rating.average_stars), rating.count) == ("4.3", 3)
    empty = await doctor_rating(session, practitioner_id=practice.colleague.id)
    assert (empty.average_stars, empty.count, empty.recent) == (None, 0, [])


async def test_the_doctor_replies_once(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    review = await rated(session, clock, practice, await make_patient(session, clock=clock))
    doctor = doctor_actor(clock, practice.doctor)

    await reply_to_review(session, doctor, review_id=review.id, reply="谢谢，祝早日康复")
    with pytest.raises(Conflict) as refused:
        await reply_to_review(session, doctor, review_id=review.id, reply="再说一句")

    assert refused.value.code == "review.already_replied"
    assert review.reply == "谢谢，祝早日康复"


async def test_a_consultation_is_rated_once(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    patient = await make_patient(session, clock=clock)
    consultation = await closed(session, clock, practice, patient)
    actor = booker(clock, patient)
    await rate_consultation(session, actor, consultation_id=consultation.id, stars=5)

    with pytest.raises(Conflict) as refused:
        await rate_consultation(session, actor, consultation_id=consultation.id, stars=3)

    assert refused.value.code == "review.already_rated"


async def test_a_held_review_cannot_be_replied_to(session, clock):
    practice = await make_practice(session, clock=clock, fee_fen=0)
    patient = await make_patient(session, clock=clock)
    review = await rated(session, clock, practice, patient, text="stupid")

    with pytest.raises(Conflict) as refused:
        await reply_to_review(
            session, doctor_actor(clock, practice.doctor), review_id=review.id, reply="谢谢"
        )

    assert (refused.value.code, review.reply) == ("review.not_published", None)
