"""The HTML trace viewer in a real headless browser (Debian's chromium, driven over the
DevTools protocol with real mouse and key events): it opens at the failing step, steps
through, and shows each node's state with the changed cells highlighted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _cdp import Browser, Page, chromium
from _golden import GOLDEN_DIR

from agree.protocols.registry import resolve
from agree.traces.html import render_html
from agree.traces.trace import load_trace

pytestmark = pytest.mark.skipif(chromium() is None, reason="chromium is not installed "
                                "(.ci/setup.d/10-chromium.sh installs it)")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


def _page(browser: Browser, tmp_path: Path, golden: Path) -> Page:
    trace = load_trace(golden, resolve)
    spec, props = resolve(trace.spec, trace.params)
    out = tmp_path / "trace.html"
    out.write_text(render_html(spec, trace, (*spec.declared_properties(), *props)))
    return browser.open(out.as_uri())


def _visible_state(page: Page) -> list[str]:
    return page.eval("Array.from(document.querySelectorAll('.state'))"
                     ".filter(e => getComputedStyle(e).display !== 'none')"
                     ".map(e => e.getAttribute('data-step'))")  # type: ignore[no-any-return]


def test_viewer_opens_at_the_violation_and_steps_through(browser: Browser,
                                                         tmp_path: Path) -> None:
    page = _page(browser, tmp_path, GOLDEN_DIR / "paxos-article.agreement.json")
    try:
        # opens where agreement breaks, and names it there
        assert page.eval("document.getElementById('position').textContent") == "state 12 of 12"
        assert _visible_state(page) == ["12"]
        current = page.eval("document.querySelector('#list li.current').textContent")
        assert current.startswith("12. ReceivePropose(a=a3") and "agreement violated" in current
        assert "failing here: agreement" in page.eval(
            "document.querySelector('#state-12 .verdict').textContent")
        # a real mouse click on "previous"
        page.click("#prev")
        assert page.eval("document.getElementById('position').textContent") == "state 11 of 12"
        assert _visible_state(page) == ["11"]
        assert page.eval("document.querySelector('#state-11 .ok').textContent") == \
            "all invariants hold"
        # click step 3 in the list: a1 receives Prepare n=0 and promises
        page.click("#li-3")
        assert _visible_state(page) == ["3"]
        changed = page.eval("Array.from(document.querySelectorAll('#state-3 td.changed'))"
                            ".map(e => e.getAttribute('data-key') + '=' + e.textContent)")
        assert changed == ["highest_id[a1]=0"]
        new = page.eval("Array.from(document.querySelectorAll('#state-3 li.new'))"
                        ".map(e => e.textContent)")
        assert new == ["Promise a1 n=0"]
        # the diagram highlights step 3's arrows: a delivery to a1 and a1's send
        assert page.eval("document.querySelector('#chart g.step.current').id") == "svg-step-3"
        kinds = page.eval("Array.from(document.querySelectorAll('#chart g.current line.ev'))"
                          ".map(e => e.getAttribute('class'))")
        assert kinds == ["ev deliver", "ev send"]
        # the keyboard moves on
        page.key("ArrowDown", 40)
        assert page.eval("document.getElementById('position').textContent") == "state 4 of 12"
        assert page.eval("location.hash") == "#step=4"
        # nothing was fetched: the page is self-contained
        assert page.eval("performance.getEntriesByType('resource').length") == 0
    finally:
        page.close()


def test_viewer_of_every_golden_trace_loads_without_errors(browser: Browser,
                                                           tmp_path: Path) -> None:
    for golden in sorted(GOLDEN_DIR.glob("*.json")):
        page = _page(browser, tmp_path, golden)
        try:
            n = len(load_trace(golden, resolve))
            assert page.eval("document.getElementById('position').textContent").endswith(
                f"of {n}"), golden.name
            assert len(_visible_state(page)) == 1, golden.name
            page.click("#next")
            assert len(page.eval("document.querySelectorAll('#list li.current')")) == 1
        finally:
            page.close()


def test_viewer_shows_a_lasso(browser: Browser, tmp_path: Path) -> None:
    lasso = Path(__file__).resolve().parent / "data" / "paxos-liveness.value_chosen.lasso.json"
    page = _page(browser, tmp_path, lasso)
    try:
        assert page.eval("document.getElementById('summary').textContent").startswith(
            "value_chosen fails: a lasso, looping back to the state after step 4")
        cycle = page.eval("Array.from(document.querySelectorAll('#list li.cycle'))"
                          ".map(e => e.getAttribute('data-step'))")
        assert cycle == ["5", "6", "7", "8", "9", "10"]
        assert "back to the state after step 4" in page.eval(
            "document.getElementById('li-10').textContent")
        page.click("#li-7")
        assert _visible_state(page) == ["7"]
        assert "value_chosen: its goal does not hold here" in page.eval(
            "document.getElementById('state-7').textContent")
    finally:
        page.close()


def test_viewer_highlights_the_key_steps_and_folds_the_rest(browser: Browser,
                                                           tmp_path: Path) -> None:
    page = _page(browser, tmp_path, GOLDEN_DIR / "paxos-article.agreement.json")
    try:
        # the witness summary heads the page
        why = page.eval("document.getElementById('why').textContent")
        assert "v1 chosen in ballot 0 by a2 (step 7), a3 (step 12)" in why
        assert "v2 chosen in ballot 1 by a1 (step 10), a2 (step 11)" in why
        keys = page.eval("Array.from(document.querySelectorAll('#list li.key'))"
                         ".map(e => e.getAttribute('data-step'))")
        assert keys == ["7", "10", "11", "12"]
        # step 7's arrows are highlighted: the delivery of the proposal and a2's vote
        key_arrows = page.eval("Array.from(document.querySelectorAll("
                               "'#chart #svg-step-7 line.ev.keymsg')).length")
        assert key_arrows == 2
        stroke = page.eval("getComputedStyle(document.querySelector("
                           "'#chart #svg-step-7 line.ev.keymsg')).strokeWidth")
        assert stroke == "3px"
        # step 3 matters to nothing the witness names: no highlighted arrow there
        assert page.eval("document.querySelectorAll('#chart #svg-step-3 .keymsg').length") == 0
        # the full view shows every step, the key-steps-only view folds the others away
        def visible_steps() -> list[str]:
            return page.eval(  # type: ignore[no-any-return]
                "Array.from(document.querySelectorAll('#list li[data-step]'))"
                ".filter(e => getComputedStyle(e).display !== 'none')"
                ".map(e => e.getAttribute('data-step'))")

        assert len(visible_steps()) == 13
        assert page.eval("getComputedStyle(document.getElementById('keychart')).display") \
            == "none"
        page.click("#keyonly")
        assert visible_steps() == ["0", "7", "10", "11", "12"]
        folds = page.eval("Array.from(document.querySelectorAll('#list li.fold'))"
                          ".filter(e => getComputedStyle(e).display !== 'none')"
                          ".map(e => e.textContent)")
        assert folds == ["... 6 steps folded", "... 2 steps folded"]
        assert page.eval("getComputedStyle(document.getElementById('chart')).display") == "none"
        drawn = page.eval("Array.from(document.querySelectorAll('#keychart g.step'))"
                          ".map(e => e.getAttribute('data-step'))")
        assert drawn == ["7", "10", "11", "12"]
        # moving back skips the folded steps: 12 -> 11 -> 10 -> 7 -> 0
        for expected in ("11", "10", "7", "0"):
            page.click("#prev")
            assert _visible_state(page) == [expected]
        page.key("ArrowDown", 40)
        assert _visible_state(page) == ["7"]
        assert page.eval("document.querySelector('#keychart g.step.current').id") == \
            "key-svg-step-7"
        # a step of the summary is a link to it; unfolding shows every step again
        page.click("#why a[data-goto='11']")
        assert _visible_state(page) == ["11"]
        page.click("#keyonly")
        assert len(visible_steps()) == 13
        page.click("#next")
        assert _visible_state(page) == ["12"]
    finally:
        page.close()


def test_viewer_without_a_witness_has_no_key_view(browser: Browser, tmp_path: Path) -> None:
    lasso = Path(__file__).resolve().parent / "data" / "paxos-liveness.value_chosen.lasso.json"
    page = _page(browser, tmp_path, lasso)
    try:
        assert page.eval("document.getElementById('why') === null")
        assert page.eval("document.querySelectorAll('#list li.fold, #keychart').length") == 0
    finally:
        page.close()
