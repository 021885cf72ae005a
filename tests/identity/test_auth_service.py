import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.errors import (
    AppError,
    Conflict,
    Locked,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)
from ihospital.identity import auth
from ihospital.identity.auth import keeping_failed_attempts, log_in, log_out, sign_up
from ihospital.identity.models import Account, AuthSession, SmsChallenge
from ihospital.identity.policy import AuthPolicy
from ihospital.identity.sessions import resolve_token
from ihospital.identity.sms import check_sms_code, request_sms_code
from ihospital.notifications.senders import SandboxSmsSender
from tests.identity.builders import CIPHER, DEFAULT_PASSWORD, make_account, new_mobile

POLICY = AuthPolicy()


def anonymous(clock):
    return Actor(role="anonymous", clock=clock, ip="203.0.113.5")


def code_of(sender, mobile):
    text = [text for to, text in sender.sent.values() if to == mobile][-1]
    return re.search(r"\d{6}", text).group(0)


def other_than(code):
    return "000000" if code != "000000" else "111111"


async def check(session, clock, mobile, code, purpose="signup"):
    return await check_sms_code(
        session,
        anonymous(clock),
        mobile=mobile,
        purpose=purpose,
        code=code,
        policy=POLICY,
        cipher=CIPHER,
    )


async def send(session, clock, mobile, purpose="signup", sender=None, policy=POLICY):
    sender = sender or SandboxSmsSender()
    await request_sms_code(
        session,
        anonymous(clock),
        mobile=mobile,
        purpose=purpose,
        policy=policy,
        cipher=CIPHER,
        sender=sender,
    )
    return code_of(sender, mobile)


async def login(session, clock, mobile, password=DEFAULT_PASSWORD, sms_code=None, policy=POLICY):
    return await log_in(
        session,
        anonymous(clock),
        mobile=mobile,
        password=password,
        sms_code=sms_code,
        policy=policy,
        cipher=CIPHER,
        kind="api",
        hours=24,
    )


# SMS codes


async def test_code_is_texted_and_only_its_keyed_hash_is_stored(session, clock):
    mobile = new_mobile()
    code = await send(session, clock, mobile)
    challenge = (await session.scalars(select(SmsChallenge))).one()
    assert len(code) == 6 and code.isdigit()
    assert code not in challenge.code_hash
    assert challenge.expires_at == clock.now() + timedelta(minutes=POLICY.sms_code_minutes)
    assert challenge.attempts == 0


async def test_right_code_passes_and_each_try_counts(session, clock):
    mobile = new_mobile()
    code = await send(session, clock, mobile)
    wrong = other_than(code)
    with pytest.raises(Unprocessable) as caught:
        await check(session, clock, mobile, wrong, purpose="signup")
    assert caught.value.code == "auth.sms_code_invalid"
    assert caught.value.fields["attempts_left"] == POLICY.sms_code_max_attempts - 1
    challenge = await check(session, clock, mobile, code, purpose="signup")
    assert challenge.attempts == 2


async def test_code_of_one_purpose_does_not_serve_the_other(session, clock):
    account = await make_account(session)
    code = await send(session, clock, account.mobile, purpose="login")
    with pytest.raises(Unprocessable, match="auth.sms_code_expired"):
        await check(session, clock, account.mobile, code, purpose="signup")


async def test_expired_code_is_refused(session, clock):
    mobile = new_mobile()
    code = await send(session, clock, mobile)
    clock.advance(timedelta(minutes=POLICY.sms_code_minutes, seconds=1))
    with pytest.raises(Unprocessable, match="auth.sms_code_expired"):
        await check(session, clock, mobile, code, purpose="signup")


async def test_code_is_dead_after_the_allowed_tries_even_when_right(session, clock):
    mobile = new_mobile()
    code = await send(session, clock, mobile)
    wrong = other_than(code)
    for _ in range(POLICY.sms_code_max_attempts):
        with pytest.raises(Unprocessable, match="auth.sms_code_invalid"):
            await check(session, clock, mobile, wrong, purpose="signup")
    with pytest.raises(Unprocessable, match="auth.sms_code_exhausted"):
        await check(session, clock, mobile, code, purpose="signup")


async def test_one_code_per_minute_per_number(session, clock):
    mobile = new_mobile()
    await send(session, clock, mobile)
    clock.advance(timedelta(seconds=20))
    with pytest.raises(TooManyRequests) as caught:
        await send(session, clock, mobile)
    assert caught.value.fields["retry_after"] == 40
    clock.advance(timedelta(seconds=40))
    await send(session, clock, mobile)


async def test_ten_codes_per_number_per_shanghai_day(session, clock):
    mobile = new_mobile()
    for _ in range(POLICY.sms_daily_limit):
        await send(session, clock, mobile)
        clock.advance(timedelta(minutes=2))
    with pytest.raises(TooManyRequests) as caught:
        await send(session, clock, mobile)
    assert caught.value.code == "auth.sms_daily_limit"
    # The clock started at 09:00 Shanghai and moved 20 minutes: midnight is 14 h 40 min away.
    assert caught.value.fields["retry_after"] == (14 * 60 + 40) * 60
    clock.advance(timedelta(seconds=caught.value.fields["retry_after"]))
    await send(session, clock, mobile)


async def test_signup_code_for_a_registered_number_is_refused(session, clock):
    account = await make_account(session)
    with pytest.raises(Conflict, match="identity.mobile_taken"):
        await send(session, clock, account.mobile, purpose="signup")


async def test_login_code_for_an_unknown_number_is_refused(session, clock):
    with pytest.raises(NotFound, match="identity.mobile_unknown"):
        await send(session, clock, new_mobile(), purpose="login")


async def test_failed_gateway_leaves_no_challenge(session, clock):
    failing = SandboxSmsSender(failure_rate=1.0)
    with pytest.raises(ServiceUnavailable):
        async with session.begin_nested():
            await send(session, clock, new_mobile(), sender=failing)
    assert (await session.scalars(select(SmsChallenge))).first() is None


# Sign-up


async def test_sign_up_creates_a_verified_patient_and_a_session(session, clock):
    mobile = new_mobile()
    code = await send(session, clock, mobile)
    signed_in = await sign_up(
        session,
        anonymous(clock),
        mobile=mobile,
        password="abc12345",
        display_name="李四",
        sms_code=code,
        policy=POLICY,
        cipher=CIPHER,
        kind="api",
        hours=24,
    )
    account = signed_in.account
    assert account.role == "patient"
    assert account.mobile_verified_at == clock.now()
    found = await resolve_token(session, anonymous(clock), token=signed_in.token, kind="api")
    assert found is not None and found[1].id == account.id
    challenge = (await session.scalars(select(SmsChallenge))).one()
    assert challenge.consumed_at == clock.now()


async def test_sign_up_with_a_wrong_code_creates_nothing(session, clock):
    mobile = new_mobile()
    code = await send(session, clock, mobile)
    with pytest.raises(Unprocessable, match="auth.sms_code_invalid"):
        await sign_up(
            session,
            anonymous(clock),
            mobile=mobile,
            password="abc12345",
            display_name="李四",
            sms_code=other_than(code),
            policy=POLICY,
            cipher=CIPHER,
            kind="api",
            hours=24,
        )
    assert await session.scalar(select(Account).where(Account.mobile == mobile)) is None


# Login


async def test_login_opens_a_session_and_resets_the_failure_count(session, clock):
    account = await make_account(session)
    with pytest.raises(Unauthorized, match="auth.bad_credentials"):
        await login(session, clock, account.mobile, password="wrong-pass-1")
    assert account.failed_logins == 1
    signed_in = await login(session, clock, account.mobile)
    assert signed_in.account.id == account.id
    assert account.failed_logins == 0
    assert account.last_login_at == clock.now()
    auth_session = (await session.scalars(select(AuthSession))).one()
    assert auth_session.kind == "api"
    assert auth_session.expires_at == clock.now() + timedelta(hours=24)


async def test_unknown_number_costs_a_password_check_too(session, clock, monkeypatch):
    checked = []
    real = auth.verify_password

    def counting(password_hash, password):
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    with pytest.raises(Unauthorized) as caught:
        await login(session, clock, new_mobile())
    assert checked == [None]
    assert caught.value.code == "auth.bad_credentials"


async def test_sms_step_after_two_failures(session, clock):
    account = await make_account(session)
    for _ in range(2):
        with pytest.raises(Unauthorized) as caught:
            await login(session, clock, account.mobile, password="wrong-pass-1")
    assert caught.value.fields["sms_code_required"] is True
    with pytest.raises(Unauthorized, match="auth.sms_code_required"):
        await login(session, clock, account.mobile)
    assert account.failed_logins == 2  # asking for the code is not a failure
    code = await send(session, clock, account.mobile, purpose="login")
    await login(session, clock, account.mobile, sms_code=code)
    assert account.failed_logins == 0


async def test_wrong_code_in_the_sms_step_does_not_check_the_password(session, clock):
    account = await make_account(session)
    for _ in range(2):
        with pytest.raises(Unauthorized):
            await login(session, clock, account.mobile, password="wrong-pass-1")
    code = await send(session, clock, account.mobile, purpose="login")
    with pytest.raises(Unprocessable, match="auth.sms_code_invalid"):
        await login(session, clock, account.mobile, sms_code=other_than(code))
    assert account.failed_logins == 2


async def test_lockout_after_the_limit_even_with_the_right_password(session, clock):
    account = await make_account(session)
    policy = AuthPolicy(login_max_failures=3, lockout_minutes=15, sms_step_after_failures=5)
    for _ in range(2):
        with pytest.raises(Unauthorized):
            await login(session, clock, account.mobile, password="wrong-pass-1", policy=policy)
    with pytest.raises(Locked) as caught:
        await login(session, clock, account.mobile, password="wrong-pass-1", policy=policy)
    assert caught.value.fields["retry_after"] == 15 * 60
    clock.advance(timedelta(minutes=10))
    with pytest.raises(Locked) as caught:
        await login(session, clock, account.mobile, policy=policy)
    assert caught.value.fields["retry_after"] == 5 * 60
    assert caught.value.fields["minutes"] == 5
    clock.advance(timedelta(minutes=5))
    await login(session, clock, account.mobile, policy=policy)
    assert account.locked_until is None


async def test_inactive_account_cannot_sign_in(session, clock):
    account = await make_account(session)
    account.is_active = False
    with pytest.raises(Unauthorized, match="auth.bad_credentials"):
        await login(session, clock, account.mobile)


async def test_logins_and_failures_are_audited(session, clock):
    account = await make_account(session)
    with pytest.raises(Unauthorized):
        await login(session, clock, account.mobile, password="wrong-pass-1")
    await login(session, clock, account.mobile)
    actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert actions[-2:] == ["auth.login_failed", "auth.login"]


async def test_log_out_revokes_only_that_session(session, clock):
    account = await make_account(session)
    first = await login(session, clock, account.mobile)
    second = await login(session, clock, account.mobile)
    actor = Actor(role="patient", clock=clock, account_id=account.id)
    await log_out(session, actor, token=first.token, kind="api")
    assert await resolve_token(session, actor, token=first.token, kind="api") is None
    assert await resolve_token(session, actor, token=second.token, kind="api") is not None


async def test_log_out_does_not_touch_another_accounts_session(session, clock):
    owner = await make_account(session)
    other = await make_account(session)
    signed_in = await login(session, clock, owner.mobile)
    stranger = Actor(role="patient", clock=clock, account_id=other.id)
    await log_out(session, stranger, token=signed_in.token, kind="api")
    assert await resolve_token(session, stranger, token=signed_in.token, kind="api") is not None


# The refusal's trace survives the request's rollback


async def _count_after_refused_login(databases, clock, *, keep: bool) -> int:
    engine = make_engine(await databases.fresh())
    try:
        factory = make_sessionmaker(engine)
        async with factory() as session, session.begin():
            account = await make_account(session, clock=clock)
        async with factory() as session:  # as the request's session dependency does
            with pytest.raises(AppError):
                try:
                    if keep:
                        async with keeping_failed_attempts(session):
                            await login(session, clock, account.mobile, password="wrong-pass-1")
                    else:
                        await login(session, clock, account.mobile, password="wrong-pass-1")
                except BaseException:
                    await session.rollback()
                    raise
        async with factory() as session:
            return (await session.get(Account, account.id)).failed_logins
    finally:
        await engine.dispose()


async def test_failure_counter_is_committed_although_the_request_fails(databases, clock):
    assert await _count_after_refused_login(databases, clock, keep=True) == 1


async def test_without_keeping_the_failure_the_rollback_would_lose_it(databases, clock):
    assert await _count_after_refused_login(databases, clock, keep=False) == 0
