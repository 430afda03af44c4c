#!/usr/bin/env python3
"""helpdesk_browser.py - the helpdesk officer at the web page, in a real
headless Chromium driven by Selenium (chromium-driver), for
test_helpdesk_browser.sh.

    helpdesk_browser.py URL SPKI OUTDIR KEY

URL      the page (https://127.0.0.1:PORT)
SPKI     base64 SHA-256 of the server certificate's public key: Chromium
         trusts that key and nothing else (no blanket certificate bypass)
OUTDIR   screenshots (login.png, unblock.png, response.png) and the
         response's files (response, response_check) go here
KEY      the master key to pick ("NAME/VERSION")
The operator and password come from HD_OPERATOR and HD_PASSWORD, what the
holder read out from CAP_SERIAL, CAP_SCHK, CAP_CH, CAP_CHK (pty_drive.py).

Steps, each checked (exit 1 with the reason on stderr otherwise):
  1. /unblock without logging in lands on the login page;
  2. log in;
  3. type serial and challenge with a wrong challenge check value: the page
     says it does not match and the button is disabled;
  4. correct it: both say they match, the button is enabled;
  5. submit: the response page shows the response and its check value.
Prints the response (hex digits only) on stdout.
"""
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait


def fail(msg):
    sys.stderr.write("helpdesk_browser: FAIL: %s\n" % msg)
    sys.exit(1)


def main():
    url, spki, outdir, key = sys.argv[1:5]
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
              "--disable-gpu", "--window-size=1000,800",
              "--user-data-dir=" + os.path.join(outdir, "chromium-profile"),
              "--ignore-certificate-errors-spki-list=" + spki):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    wait = WebDriverWait(d, 20)
    try:
        d.get(url + "/unblock")
        wait.until(lambda d: d.find_elements(By.ID, "login"))
        if not d.current_url.endswith("/login"):
            fail("unauthenticated /unblock went to %s" % d.current_url)
        d.find_element(By.ID, "operator").send_keys(os.environ["HD_OPERATOR"])
        d.find_element(By.ID, "password").send_keys(os.environ["HD_PASSWORD"])
        d.save_screenshot(os.path.join(outdir, "login.png"))
        d.find_element(By.ID, "submit").click()
        wait.until(lambda d: d.find_elements(By.ID, "unblock"))

        d.find_element(By.ID, "serial").send_keys(os.environ["CAP_SERIAL"])
        d.find_element(By.ID, "serial_check").send_keys(os.environ["CAP_SCHK"])
        d.find_element(By.ID, "challenge").send_keys(os.environ["CAP_CH"])
        chk = os.environ["CAP_CHK"]
        wrong = "%02d" % ((int(chk) + 1) % 97)
        d.find_element(By.ID, "challenge_check").send_keys(wrong)
        status = d.find_element(By.ID, "challenge_status")
        wait.until(lambda d: "does not match" in status.text)
        if d.find_element(By.ID, "submit").is_enabled():
            fail("the button is enabled with a wrong check value")
        d.save_screenshot(os.path.join(outdir, "mismatch.png"))
        d.find_element(By.ID, "challenge_check").clear()
        d.find_element(By.ID, "challenge_check").send_keys(chk)
        wait.until(lambda d: status.text == "check value matches")
        if d.find_element(By.ID, "serial_status").text != "check value matches":
            fail("serial: %s" % d.find_element(By.ID, "serial_status").text)
        Select(d.find_element(By.ID, "key")).select_by_value(key)
        d.save_screenshot(os.path.join(outdir, "unblock.png"))
        d.find_element(By.ID, "submit").click()
        wait.until(lambda d: d.find_elements(By.ID, "response"))
        resp = d.find_element(By.ID, "response").text.replace(" ", "")
        rchk = d.find_element(By.ID, "response_check").text
        d.save_screenshot(os.path.join(outdir, "response.png"))
        with open(os.path.join(outdir, "response"), "w") as f:
            f.write(resp + "\n")
        with open(os.path.join(outdir, "response_check"), "w") as f:
            f.write(rchk + "\n")
        print(resp)
    finally:
        d.quit()


if __name__ == "__main__":
    main()
