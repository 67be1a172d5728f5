/* portal's few behaviours for browsers with JavaScript; every page works without them.
   Loaded from a file (the Content-Security-Policy forbids inline script).

   1. Tabs (role="tablist"): the left/right arrow keys, Home and End move between tabs and
      open the tab reached (WAI-ARIA tabs pattern, automatic activation); only the selected
      tab is in the Tab order (roving tabindex). Without JavaScript the tabs are links.
   2. Focus after an htmx swap: when the element that had the focus was replaced (a button
      inside the swapped part), focus moves to the swapped content instead of falling back
      to <body>, so keyboard and screen-reader users carry on where they were. A swap that
      leaves the focused element in place (live previews while typing) keeps the focus.
   3. <html class="htmx-on"> while htmx runs, so buttons needed only without it
      (.nojs-only, e.g. "Recalculate") can be hidden.
   4. The operator menu's groups (<details class="nav-group">) behave as dropdowns: opening
      one closes the others, Escape or a click elsewhere closes it. Without JavaScript each
      stays open until its name is clicked again. */
(function () {
  "use strict";

  function tabsOf(list) {
    return Array.prototype.slice.call(list.querySelectorAll('[role="tab"]'));
  }

  function setUpTabs(root) {
    var lists = root.querySelectorAll ? root.querySelectorAll('[role="tablist"]') : [];
    Array.prototype.forEach.call(lists, function (list) {
      var tabs = tabsOf(list);
      tabs.forEach(function (tab) {
        tab.setAttribute("tabindex", tab.getAttribute("aria-selected") === "true" ? "0" : "-1");
      });
      if (list.dataset.keys) { return; }
      list.dataset.keys = "on";
      list.addEventListener("keydown", function (event) {
        var all = tabsOf(list);
        var at = all.indexOf(document.activeElement);
        if (at < 0) { return; }
        var to = {ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1}[event.key];
        if (to === undefined) { return; }
        event.preventDefault();
        var next = all[(to + all.length) % all.length];
        next.focus();
        next.click();
      });
    });
  }

  var focusedBefore = null;
  var targetId = null;

  document.addEventListener("htmx:beforeSwap", function (event) {
    focusedBefore = document.activeElement;
    var target = event.detail.target;
    targetId = target && target.id ? target.id : null;
  });

  document.addEventListener("htmx:afterSettle", function () {
    var active = document.activeElement;
    var lost = !active || active === document.body || !document.contains(focusedBefore);
    if (!lost || !targetId) { return; }
    var swapped = document.getElementById(targetId);
    if (!swapped) { return; }
    // A tab swapped with its panel keeps the focus on the selected tab.
    var tab = swapped.querySelector('[role="tab"][aria-selected="true"]');
    var into = tab || swapped.querySelector("h1, h2, h3, [role=tabpanel]") || swapped;
    if (!tab && !into.hasAttribute("tabindex")) { into.setAttribute("tabindex", "-1"); }
    into.focus();
  });

  document.addEventListener("htmx:load", function (event) { setUpTabs(event.detail.elt); });

  function openGroups(except) {
    return Array.prototype.filter.call(document.querySelectorAll("details.nav-group[open]"),
                                       function (group) { return group !== except; });
  }

  document.addEventListener("toggle", function (event) {
    var group = event.target;
    if (!group.classList || !group.classList.contains("nav-group") || !group.open) { return; }
    openGroups(group).forEach(function (other) { other.open = false; });
  }, true);

  document.addEventListener("click", function (event) {
    openGroups(event.target.closest ? event.target.closest("details.nav-group") : null)
      .forEach(function (group) { group.open = false; });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    openGroups(null).forEach(function (group) {
      group.open = false;
      if (group.contains(document.activeElement)) { group.querySelector("summary").focus(); }
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) { document.documentElement.classList.add("htmx-on"); }
    setUpTabs(document);
  });
})();
