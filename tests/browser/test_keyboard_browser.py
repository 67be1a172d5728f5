"""The design system by keyboard (issue 17, items 1 and 5): the skip link, the phone menu
(a <details>, no JavaScript), tabs with the arrow keys, and the focus after an htmx swap."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ADMIN = "admin@northwind.example"


def focused(page) -> str:
    """A short description of the focused element: tag#id, role, text."""
    return page.evaluate("""() => { const e = document.activeElement;
        return e ? `${e.tagName.toLowerCase()}#${e.id}|${e.getAttribute('role') || ''}|` +
                   (e.innerText || '').trim().slice(0, 40) : ''; }""")


def test_skip_link_is_the_first_stop_and_moves_to_the_content(page, login):
    login(page, ADMIN)
    page.keyboard.press("Tab")
    assert focused(page).startswith("a#|") and "Skip to main content" in focused(page)
    page.keyboard.press("Enter")
    assert focused(page).startswith("main#main")


@pytest.mark.parametrize("width, hidden_until_opened", [(390, True), (1280, False)])
def test_header_menu_collapses_on_phones_without_javascript(nojs_page, login, width,
                                                            hidden_until_opened):
    nojs_page.set_viewport_size({"width": width, "height": 800})
    login(nojs_page, ADMIN)
    manage = nojs_page.get_by_role("link", name="Manage")
    menu = nojs_page.locator("details.menu > summary")
    if hidden_until_opened:
        expect(manage).to_be_hidden()
        menu.focus()
        nojs_page.keyboard.press("Enter")  # a <summary> opens with the keyboard
    else:
        expect(menu).to_be_hidden()
    expect(manage).to_be_visible()
    expect(nojs_page.get_by_role("navigation", name="Main")).to_be_visible()
    assert nojs_page.evaluate("document.documentElement.scrollWidth") <= width


def test_tabs_follow_the_arrow_keys_and_keep_the_focus(page, live_server, login,
                                                       console_errors):
    login(page, ADMIN)
    usage = page.get_by_role("tab", name="Usage")
    active = page.get_by_role("tab", name="Active subscriptions")
    expect(usage).to_have_attribute("aria-selected", "true")
    expect(usage).to_have_attribute("tabindex", "0")  # roving tabindex (portal.js)
    expect(active).to_have_attribute("tabindex", "-1")

    def reached(name, path):
        """The tab ``name`` is shown, settled (htmx first gives a swapped tab the old
        tab's attributes) and focused: a key pressed before that reaches the outgoing tab."""
        expect(page).to_have_url(f"{live_server.url}{path}")
        tab = page.get_by_role("tab", name=name)
        expect(tab).to_have_attribute("aria-selected", "true")
        expect(tab).to_be_focused()

    usage.focus()
    page.keyboard.press("ArrowRight")
    reached("Active subscriptions", "/subscription/active")
    expect(page.get_by_role("tabpanel")).to_contain_text("Renews automatically")
    page.keyboard.press("Home")
    reached("Usage", "/subscription/")
    page.keyboard.press("ArrowLeft")  # wraps round to the last tab
    reached("History", "/subscription/history")
    page.keyboard.press("ArrowRight")  # and from the last back to the first
    reached("Usage", "/subscription/")
    page.keyboard.press("End")
    reached("History", "/subscription/history")
    assert console_errors == []


def test_focus_lands_on_the_swapped_row_after_an_htmx_update(page, login, console_errors):
    login(page, ADMIN)
    page.goto("/admin/members")
    row = page.locator("tr[data-active=true]", has=page.get_by_text("member@northwind.example"))
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Deactivate").focus()
    page.keyboard.press("Enter")
    swapped = page.locator("tr", has=page.get_by_text("member@northwind.example"))
    expect(swapped).to_have_attribute("data-active", "false")
    # the button that had the focus is gone: the focus is on the new row, not on <body>
    expect(swapped).to_be_focused()
    page.keyboard.press("Tab")  # and Tab carries on from there: the row's Activate button
    expect(swapped.get_by_role("button", name="Activate")).to_be_focused()
    assert console_errors == []
