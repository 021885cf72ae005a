"""The public verification page the QR code opens: the answer in words for a pharmacy, masked
details, the reason when tampered with, a plain form when nothing or something wrong is given."""

from ihospital.prescribing.verification import verification_code, verification_url
from tests.prescribing.verification_world import edit_an_item, written

PAGE = "/verify/prescription"


async def test_the_qr_link_shows_a_genuine_prescription(client, session, clock):
    world = await written(session, clock)
    url = verification_url("https://testserver", world.prescription)
    response = await client.get(url)
    assert response.status_code == 200
    html = response.text
    assert 'data-valid="true"' in html and "真实有效" in html
    assert 'data-status="approved"' in html and "已通过" in html
    assert "欧**明" in html and "欧阳小明" not in html
    assert "盐酸二甲双胍缓释片 × 2 盒" in html
    assert "原发性高血压" not in html


async def test_a_tampered_prescription_is_not_to_be_dispensed(client, session, clock):
    world = await written(session, clock)
    params = {"number": world.prescription.number, "code": verification_code(world.prescription)}
    await edit_an_item(session, world.prescription)
    response = await client.get(PAGE, params=params, headers={"Accept-Language": "en"})
    html = response.text
    assert 'data-valid="false"' in html and "do not dispense" in html
    assert 'data-reason="content_changed"' in html
    assert "The prescription was changed after the doctor signed it." in html


async def test_a_wrong_code_shows_the_form_again_with_the_reason(client, session, clock):
    world = await written(session, clock)
    response = await client.get(PAGE, params={"number": world.prescription.number, "code": "X"})
    assert response.status_code == 404
    assert "没有与此编号和验证码相符的处方" in response.text
    assert 'id="field-number"' in response.text and "data-valid" not in response.text


async def test_the_bare_page_is_a_form_and_garbage_is_explained(client):
    bare = await client.get(PAGE)
    assert bare.status_code == 200 and 'id="field-code"' in bare.text
    garbage = await client.get(PAGE, params={"number": "<script>", "code": "1"})
    assert garbage.status_code == 422
    assert "请输入处方编号和二维码下方印有的验证码" in garbage.text
    assert "<script>" not in garbage.text
