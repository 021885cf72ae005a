from ihospital.web.templating import make_templates


def render(source: str, **context) -> str:
    env = make_templates().env
    page = '{% import "_macros.html" as ui with context %}' + source
    return env.from_string(page).render(csrf_token="tok.sig", **context)


def test_field_is_labelled_and_names_its_error():
    html = render(
        '{{ ui.field("mobile", "手机号", value="1390", error="请输入11位手机号",'
        ' hint="仅限中国大陆", required=True, inputmode="numeric", autocomplete="tel") }}'
    )
    assert '<label for="field-mobile">手机号' in html
    assert 'id="field-mobile" name="mobile" type="text" value="1390"' in html
    assert 'aria-invalid="true"' in html and "required" in html
    assert 'aria-describedby="hint-mobile error-mobile"' in html
    assert '<span class="field-error" id="error-mobile">请输入11位手机号</span>' in html
    assert 'inputmode="numeric"' in html and 'autocomplete="tel"' in html
    assert "field-invalid" in html


def test_valid_field_has_no_error_markup():
    html = render('{{ ui.field("name", "姓名") }}')
    assert "aria-invalid" not in html and "aria-describedby" not in html
    assert "field-error" not in html


def test_password_field_never_echoes_its_value():
    html = render('{{ ui.field("password", "密码", value="secret123", type="password") }}')
    assert "secret123" not in html


def test_field_values_are_escaped():
    html = render('{{ ui.field("name", "姓名", value=v) }}', v='"><script>x</script>')
    assert "<script>" not in html


def test_select_marks_the_chosen_option():
    html = render(
        '{{ ui.select("relationship", "关系", [("self", "本人"), ("child", "子女")],'
        ' selected="child", placeholder="请选择") }}'
    )
    assert '<label for="field-relationship">关系' in html
    assert '<option value="child" selected>子女</option>' in html
    assert '<option value="self">本人</option>' in html
    assert '<option value="">请选择</option>' in html


def test_submit_and_csrf_field():
    html = render(
        '{{ ui.csrf_field() }}{{ ui.submit("保存") }}{{ ui.submit("取消", primary=False) }}'
    )
    assert '<input type="hidden" name="csrf_token" value="tok.sig">' in html
    assert '<button type="submit" class="btn btn-primary">保存</button>' in html
    assert '<button type="submit" class="btn">取消</button>' in html


def test_error_summary_links_to_fields():
    html = render("{{ ui.error_summary(errors) }}", errors={"mobile": "手机号不对"})
    assert 'role="alert"' in html
    assert '<a href="#field-mobile">手机号不对</a>' in html
    assert render("{{ ui.error_summary({}) }}").strip() == ""


def test_echarts_script_is_deferred():
    assert render("{{ ui.echarts_script() }}") == (
        '<script defer src="/static/vendor/echarts/echarts.min.js"></script>'
    )
