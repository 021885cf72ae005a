"""The OpenAPI document names each schema once: two models of one name in different domains
would be published under generated module paths, which clients cannot rely on."""


def test_every_schema_has_its_own_plain_name(app):
    names = app.openapi()["components"]["schemas"]
    qualified = sorted(name for name in names if "__" in name)
    assert not qualified, f"schemas sharing a name with another domain's: {qualified}"
