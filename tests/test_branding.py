"""Branding without forking: name, logo, colours and a template-override folder."""
import pytest

SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<rect width="10" height="10"/></svg>')


def test_product_name_colour_and_logo_from_configuration(make_app, tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_bytes(SVG)
    client = make_app(PRODUCT_NAME="Acme Analytics", BRAND_COLOR="#aa3300",
                      LOGO_PATH=str(logo)).test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "<title>Log in · Acme Analytics</title>" in page
    assert 'href="/brand.css"' in page and 'src="/brand/logo"' in page
    assert "--accent: #aa3300;" in client.get("/brand.css").get_data(as_text=True)
    response = client.get("/brand/logo")
    assert response.mimetype == "image/svg+xml" and response.data == SVG


def test_without_a_logo_the_header_shows_the_name_only(client):
    assert 'src="/brand/logo"' not in client.get("/login").get_data(as_text=True)
    assert client.get("/brand/logo").status_code == 404


def test_override_folder_wins_over_built_in_templates(make_app, tmp_path):
    (tmp_path / "auth").mkdir()
    (tmp_path / "auth" / "login.html").write_text(
        '{% extends "base.html" %}{% block content %}<h1>Welcome to Acme</h1>'
        '{% endblock %}')
    page = make_app(TEMPLATE_DIR=str(tmp_path)).test_client().get("/login")
    text = page.get_data(as_text=True)
    assert "Welcome to Acme" in text and "htmx-2.0.11.min.js" in text  # base.html still built in


@pytest.mark.parametrize("setting, value, message", [
    ("BRAND_COLOR", "red; } body { display:none", "PORTAL_BRAND_COLOR"),
    ("LOGO_PATH", "/nonexistent/logo.png", "PORTAL_LOGO_PATH"),
    ("TEMPLATE_DIR", "/nonexistent/templates", "PORTAL_TEMPLATE_DIR")])
def test_bad_brand_settings_refuse_to_start_naming_the_variable(make_app, setting, value,
                                                                message):
    with pytest.raises(RuntimeError, match=message):
        make_app(**{setting: value})


def test_pdfs_use_the_same_brand_colour(make_app):
    from portal.documents import branding

    app = make_app(BRAND_COLOR="#aa3300")
    assert branding(app.config)["accent"] == "#aa3300"
    with app.test_request_context():
        from flask import render_template

        html = render_template("documents/_style.css", brand=branding(app.config))
    assert "#aa3300" in html and "#2457c5" not in html


@pytest.mark.parametrize("colour", ["#2457c5", "#aa3300", "#ffd400", "#7fdbff", "#000000",
                                    "#ffffff"])
def test_any_brand_colour_stays_readable_aa(make_app, colour):
    """Issue 17: links in the accent and text on accent buttons keep a 4.5:1 contrast,
    whatever PORTAL_BRAND_COLOR a reseller picks (a light yellow needs dark text)."""
    import re

    from portal.branding import PAGE_BACKGROUND, contrast

    css = make_app(BRAND_COLOR=colour).test_client().get("/brand.css").get_data(as_text=True)
    props = dict(re.findall(r"--([a-z-]+): (#[0-9a-f]{6});", css))
    assert props["accent"] == colour
    assert contrast(props["accent-text"], PAGE_BACKGROUND) >= 4.5
    assert contrast(props["accent-text"], "#ffffff") >= 4.5
    assert contrast(props["on-accent"], colour) >= 4.5
