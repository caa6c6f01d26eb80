"""Headless Chromium (Debian's chromium + chromedriver) driven by Selenium, and the bits of the
Dagster UI the end-to-end test reads: the asset group's list view and an asset's Partitions tab
(its "Materialized (N)" / "Missing (N)" counts over a partition range).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
CHROMIUM_ARGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1600,1000",
)
PAGE_TIMEOUT = 45.0
STATUS_COUNT = re.compile(r"\b(Failed|Materialized|Materializing|Missing) \(([\d,]+)\)")
SELECTED = re.compile(r"([\d,]+) Partitions? Selected")


def find_binary(candidates, name: str) -> str | None:
    for path in candidates:
        if Path(path).exists():
            return path
    return shutil.which(name)


def missing_browser_reason() -> str | None:
    """Why the browser test cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if not find_binary(CHROMIUM_CANDIDATES, "chromium"):
        return "chromium not found (apt-get install chromium)"
    if not find_binary(CHROMEDRIVER_CANDIDATES, "chromedriver"):
        return "chromedriver not found (apt-get install chromium-driver)"
    return None


class Chromium:
    """One headless Chromium with an empty profile, removed on quit()."""

    def __init__(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        options = webdriver.ChromeOptions()
        options.binary_location = find_binary(CHROMIUM_CANDIDATES, "chromium")
        for arg in (*CHROMIUM_ARGS, f"--user-data-dir={self.profile}"):
            options.add_argument(arg)
        service = Service(executable_path=find_binary(CHROMEDRIVER_CANDIDATES, "chromedriver"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(PAGE_TIMEOUT)

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def body_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def wait_for_text(driver, predicate, timeout: float = PAGE_TIMEOUT, what: str = "text") -> str:
    """Poll the page's visible text until predicate(text) holds; the text, or AssertionError."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        try:
            text = body_text(driver)
        except Exception:  # noqa: BLE001 - the page is still being (re)rendered
            text = ""
        if predicate(text):
            return text
        _dismiss_community_dialog(driver, text)
        time.sleep(0.5)
    raise AssertionError(f"{what} not rendered within {timeout:.0f}s at {driver.current_url}; page text:\n{text[:2000]}")


def _dismiss_community_dialog(driver, text: str) -> None:
    """The first-visit "Join the Dagster community" dialog (also suppressed with setNuxSeen)."""
    if "Join the Dagster community" not in text:
        return
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
        try:
            button.click()
        except Exception:  # noqa: BLE001
            pass


def load_asset_group_list(driver, base_url: str, group: str, assets, location: str = "nba_precompute") -> str:
    """The asset group's List tab: every asset of the group with its partition counts."""
    driver.get(f"{base_url}/locations/__repository__@{location}/asset-groups/{group}/list")
    return wait_for_text(
        driver,
        lambda t: all(re.search(rf"(?m)^{re.escape(a)}$", t) for a in assets)
        and len(re.findall(r"\d[\d,]* partitions", t)) >= len(assets),  # the statuses have loaded
        what=f"the {group} asset list",
    )


def load_asset_lineage(driver, base_url: str, group: str, location: str = "nba_precompute") -> str:
    driver.get(f"{base_url}/locations/__repository__@{location}/asset-groups/{group}")
    return wait_for_text(driver, lambda t: "Partitions" in t and "filled" in t, what=f"the {group} lineage")


def partition_counts(driver, base_url: str, asset: str, start: str | None = None, end: str | None = None) -> dict:
    """The Partitions tab of an asset, over [start...end] (default: all partitions):
    {"selected": N, "failed": N, "materialized": N, "materializing": N, "missing": N}."""
    url = f"{base_url}/assets/{asset}?view=partitions"
    if start and end:
        url += f"&default_range=%5B{start}...{end}%5D"
    driver.get(url)

    def ready(text: str) -> bool:
        return len(dict(STATUS_COUNT.findall(text))) == 4 and bool(SELECTED.search(text)) and (
            not start or f"[{start}...{end}]" in _range_input(driver)
        )

    text = wait_for_text(driver, ready, what=f"the partition counts of {asset}")
    counts = {k.lower(): int(v.replace(",", "")) for k, v in STATUS_COUNT.findall(text)}
    counts["selected"] = int(SELECTED.search(text).group(1).replace(",", ""))
    return counts


def _range_input(driver) -> str:
    from selenium.webdriver.common.by import By

    values = [i.get_attribute("value") or "" for i in driver.find_elements(By.TAG_NAME, "input")]
    return next((v for v in values if v.startswith("[")), "")


def screenshot(driver, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path


def failed_partition_panel(driver, base_url: str, asset: str, partition: str) -> str:
    """The Partitions tab with one partition clicked (its detail panel loaded)."""
    driver.get(f"{base_url}/assets/{asset}?view=partitions&partition={partition}")
    return wait_for_text(driver, lambda t: "Latest materialization" in t and "did not materialize" in t,
                         what=f"the {asset} {partition} partition panel")


def markdown_metadata_image(driver, base_url: str, asset: str, entry: str) -> dict:
    """The asset's page (Overview) with its latest materialization's markdown `entry` opened by its
    one "[Show Markdown]" click: {"page": text before, "dialog": text after, "images": [src prefix]}."""
    from selenium.webdriver.common.by import By

    driver.get(f"{base_url}/assets/{asset}")
    page = wait_for_text(driver, lambda t: entry in t and "Show Markdown" in t, what=f"{asset}'s {entry} entry")
    rows = driver.find_elements(By.XPATH, f"//tr[td[normalize-space()='{entry}']]")
    buttons = [b for r in rows for b in r.find_elements(By.XPATH, ".//*[contains(text(), 'Show Markdown')]")]
    if not buttons:
        raise AssertionError(f"no [Show Markdown] in the {entry} row of {asset}; page text:\n{page[:2000]}")
    buttons[0].click()
    deadline = time.monotonic() + PAGE_TIMEOUT
    images: list[str] = []
    while time.monotonic() < deadline and not images:
        images = [(i.get_attribute("src") or "")[:22] for i in driver.find_elements(By.TAG_NAME, "img")
                  if (i.get_attribute("src") or "").startswith("data:image/png") and i.is_displayed()]
        time.sleep(0.5)
    return {"page": page, "dialog": body_text(driver), "images": images}


def click_and_read(driver, label: str, predicate, what: str) -> str:
    """Click the first visible button whose text starts with `label`; the page text once predicate holds."""
    from selenium.webdriver.common.by import By

    buttons = [b for b in driver.find_elements(By.XPATH, f"//button[starts-with(normalize-space(), '{label}')]")
               if b.is_displayed()]
    if not buttons:
        raise AssertionError(f"no '{label}' button at {driver.current_url}; page text:\n{body_text(driver)[:2000]}")
    buttons[0].click()
    return wait_for_text(driver, predicate, what=what)


def click_text_and_read(driver, text: str, predicate, what: str) -> str:
    """Click the last visible element whose whole text is `text` (e.g. a row of a dialog's table);
    the page text once predicate holds."""
    from selenium.webdriver.common.by import By

    found = [e for e in driver.find_elements(By.XPATH, f"//*[normalize-space()='{text}']") if e.is_displayed()]
    if not found:
        raise AssertionError(f"no '{text}' at {driver.current_url}; page text:\n{body_text(driver)[:2000]}")
    found[-1].click()
    return wait_for_text(driver, predicate, what=what)
