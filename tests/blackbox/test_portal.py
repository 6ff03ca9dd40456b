"""The sign-in portal (nginx/portal/) end to end: Debian's chromium driven
headless by selenium through the demo site of the test stack (nginx, the
real fcgi-users and MariaDB), with the verify and reset mails sent by the
shipped hook (scripts/hooks/send-mail, through msmtp) to the stack's local
SMTP server (scripts/mail-store), which stores them in $FCGI_USERS_VAR/mail."""
import email
import email.policy
import glob
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
import uuid

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException, TimeoutException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import BASE, PASSWORD, ROOT, VAR, bearer, login, register, stack, unique_email, url, wait_for

HTTP_PORT = int(BASE.rsplit(":", 1)[1])
SITE = f"http://127.0.0.1:{HTTP_PORT + 1}"
APACHE = f"http://127.0.0.1:{HTTP_PORT + 4}"
PORTAL = os.environ.get("FCGI_USERS_PORTAL_PATH", "/account/")
MAIL_DIR = os.path.join(VAR, "mail")
SCREENSHOTS = os.path.join(VAR, "screenshots")
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=720,760"]


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="fcgi-users-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in BROWSER_FLAGS + ["--user-data-dir=" + profile]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    os.makedirs(SCREENSHOTS, exist_ok=True)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def b(browser):
    """The browser, signed out: no cookie, no remembered next=."""
    browser.get(SITE + PORTAL + "portal.css")
    browser.delete_all_cookies()
    browser.execute_script("window.localStorage.clear()")
    return browser


def access_log_so_far():
    """nginx's access log with every request made so far: nginx writes it out
    each second (nginx.conf.in), so a marker request is made and waited for;
    once its line is in the file, every earlier line is too."""
    marker = f"{PORTAL}portal.css?log-marker={uuid.uuid4().hex}"
    assert requests.get(SITE + marker, timeout=10).status_code == 200

    def read():
        with open(os.path.join(VAR, "log", "nginx-access.log")) as f:
            text = f.read()
        return text if marker in text else None
    text = wait_for(read, timeout=10)
    assert text, "the marker request never reached nginx's access log"
    return text


def wait(driver, condition, timeout=20):
    # A page that navigates (sign-in, sign-out) replaces its elements while we look.
    # chromedriver may also answer "unhandled inspector error" while the old page's context goes.
    return WebDriverWait(driver, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException,
                                                              WebDriverException)).until(condition)


def visible(driver, element_id):
    return wait(driver, EC.visibility_of_element_located((By.ID, element_id)))


def message(driver, pattern):
    """Waits until the status area says something matching `pattern`; returns its text."""
    try:
        wait(driver, lambda d: re.search(pattern, d.find_element(By.ID, "message").text))
    except TimeoutException:
        raise AssertionError(f"message {pattern!r} not shown; it says: "
                             f"{driver.find_element(By.ID, 'message').text!r}")
    return driver.find_element(By.ID, "message").text


def fill(driver, element_id, text):
    field = visible(driver, element_id)
    field.clear()
    field.send_keys(text)


def shot(driver, name):
    driver.save_screenshot(os.path.join(SCREENSHOTS, name + ".png"))


def mails_to(address):
    found = []
    for path in sorted(glob.glob(os.path.join(MAIL_DIR, "*.eml"))):
        with open(path, "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        if msg["To"] and address.lower() in msg["To"].lower():
            found.append(msg)
    return found


def wait_mail(address, count=1):
    found = wait_for(lambda: len(mails_to(address)) >= count and mails_to(address), timeout=30)
    assert found, f"no mail for {address} in {MAIL_DIR}"
    return found[count - 1]


def link_in(msg):
    body = msg.get_body(preferencelist=("plain",)).get_content()
    links = re.findall(r"https?://\S+", body)
    assert len(links) == 1, body
    return links[0], body


def sign_in(driver, address, password):
    fill(driver, "signin-email", address)
    fill(driver, "signin-password", password)
    driver.find_element(By.ID, "signin-password").send_keys(Keys.ENTER)


def signed_in_page(driver):
    return visible(driver, "account")


# ------------------------------------------------------------ the 401 redirect

def test_redirect_to_the_portal_encodes_the_uri():
    r = requests.get(SITE + "/private/page.html?a=1&b=%2F//x#frag", headers={"Accept": "text/html"},
                     allow_redirects=False)
    assert r.status_code == 302
    location = urllib.parse.urlsplit(r.headers["location"])
    assert location.path == PORTAL
    assert urllib.parse.parse_qs(location.query) == {"next": ["/private/page.html?a=1&b=%2F//x"]}
    # API clients still get JSON.
    r = requests.get(SITE + "/private/", allow_redirects=False)
    assert r.status_code == 401 and r.json() == {"detail": "Unauthorized"}


def test_portal_pages_are_never_protected_and_keep_tokens_out_of_referers():
    for page in ("", "index.html", "signup.html", "forgot.html", "reset.html", "verify.html", "portal.js",
                 "portal.css", "config.js"):
        r = requests.get(SITE + PORTAL + page, headers={"Accept": "text/html"}, allow_redirects=False)
        assert r.status_code == 200, page
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


# ------------------------------------------------------------ flows in the browser

def test_sign_up_verify_sign_in_back_to_the_page_and_sign_out(b):
    address = unique_email("portal")
    b.get(SITE + "/private/")
    wait(b, EC.url_contains(PORTAL + "?next="))
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(b.current_url).query)["next"] == ["/private/"]
    visible(b, "signin-form")
    shot(b, "sign-in")

    b.find_element(By.LINK_TEXT, "No account yet? Sign up").click()
    visible(b, "signup-form")
    fill(b, "signup-email", address)
    fill(b, "signup-password", "short")
    fill(b, "signup-password-again", "short")
    b.find_element(By.CSS_SELECTOR, "#signup-form button").click()
    # The password policy's reason, as the API gives it.
    message(b, r"cannot be used: Password should be at least 8 characters")
    fill(b, "signup-password", PASSWORD)
    fill(b, "signup-password-again", PASSWORD + "x")
    b.find_element(By.CSS_SELECTOR, "#signup-form button").click()
    message(b, r"not the same")
    fill(b, "signup-password-again", PASSWORD)
    b.find_element(By.CSS_SELECTOR, "#signup-form button").click()
    visible(b, "signup-done")
    message(b, r"Check your mail")
    shot(b, "sign-up-done")

    mail = wait_mail(address)
    link, body = link_in(mail)
    assert link.startswith(SITE + PORTAL + "verify.html#token=")
    assert "1 hour" in body and "fcgi-users demo" in mail["Subject"]
    token = link.split("#token=", 1)[1]

    b.get(link)
    message(b, r"is confirmed")
    assert "token" not in b.current_url and token not in b.current_url
    shot(b, "verified")
    b.find_element(By.CSS_SELECTOR, "#verify-done a").click()
    visible(b, "signin-form")
    sign_in(b, address, PASSWORD)
    # Back at the page first asked for, which says who is signed in (the check's X-User-Email).
    wait(b, EC.url_to_be(SITE + "/private/"))
    assert b.find_element(By.ID, "who").text == f"Signed in as {address}."

    b.get(SITE + PORTAL)
    signed_in_page(b)
    assert b.find_element(By.ID, "account-email").text == address
    assert b.find_element(By.ID, "account-verified").text == "confirmed"
    shot(b, "account")
    b.find_element(By.CSS_SELECTOR, "#logout-form button").click()
    message(b, r"^You are signed out\.$")
    visible(b, "signin-form")
    b.get(SITE + "/private/")
    wait(b, EC.url_contains(PORTAL + "?next="))
    visible(b, "signin-form")
    # The verify token was never in a request line nginx logged.
    assert token not in access_log_so_far()


def test_forgot_password_mail_reset_page_new_password_works_old_does_not(b):
    address = unique_email("forgot")
    register(address)
    b.get(SITE + PORTAL)
    visible(b, "signin-form")
    b.find_element(By.LINK_TEXT, "Forgot your password?").click()
    fill(b, "forgot-email", address)
    b.find_element(By.CSS_SELECTOR, "#forgot-form button").click()
    known = message(b, r"a mail with a link")
    shot(b, "forgot")
    # The same words for an address that has no account.
    b.get(SITE + PORTAL + "forgot.html")
    fill(b, "forgot-email", unique_email("nobody"))
    b.find_element(By.CSS_SELECTOR, "#forgot-form button").click()
    assert message(b, r"a mail with a link") == known

    mail = wait_mail(address)
    link, body = link_in(mail)
    assert link.startswith(SITE + PORTAL + "reset.html#token=") and "only once" in body
    token = link.split("#token=", 1)[1]
    b.get(link)
    visible(b, "reset-form")
    assert token not in b.current_url and "#" not in b.current_url
    assert token not in b.execute_script("return window.location.href + document.referrer")
    fill(b, "reset-password", "excalibur-2")
    fill(b, "reset-password-again", "excalibur-2")
    shot(b, "reset")
    b.find_element(By.CSS_SELECTOR, "#reset-form button").click()
    message(b, r"Your password is changed")

    # The link works once.
    b.get(link)
    fill(b, "reset-password", "excalibur-3")
    fill(b, "reset-password-again", "excalibur-3")
    b.find_element(By.CSS_SELECTOR, "#reset-form button").click()
    message(b, r"does not work any more")

    b.get(SITE + PORTAL)
    sign_in(b, address, PASSWORD)
    message(b, r"e-mail address or the password is wrong")
    assert b.current_url == SITE + PORTAL
    shot(b, "sign-in-error")
    sign_in(b, address, "excalibur-2")
    signed_in_page(b)
    assert b.find_element(By.ID, "account-email").text == address
    assert token not in access_log_so_far()


@pytest.mark.parametrize("bad", ["//evil.example", "//evil.example/private/", "https://evil.example/",
                                 "/\\evil.example", "/\t/evil.example", "javascript:alert(1)",
                                 "evil.example", "http:/evil.example", "/.//evil.example/x",
                                 "/..//evil.example", "/%2e%2e//evil.example", "/x/..//evil.example",
                                 "/a/../..//evil.example/x"])
def test_next_to_another_site_is_refused(b, bad):
    b.get(SITE + PORTAL + "?next=" + urllib.parse.quote(bad, safe=""))
    message(b, r"only returns to pages of this site")
    visible(b, "signin-form")
    # Links to the other pages do not carry it either.
    assert "evil" not in b.find_element(By.LINK_TEXT, "No account yet? Sign up").get_attribute("href")


def test_after_a_refused_next_sign_in_stays_on_the_site(b):
    address = unique_email("next")
    register(address)
    b.get(SITE + PORTAL + "?next=%2F%2Fevil.example")
    message(b, r"only returns to pages of this site")
    sign_in(b, address, PASSWORD)
    signed_in_page(b)
    assert b.current_url.startswith(SITE + PORTAL)
    assert b.find_element(By.ID, "account-next-line").get_attribute("hidden") is not None


def test_keyboard_alone_labels_and_words(b):
    address = unique_email("keys")
    register(address)
    for page in ("", "signup.html", "forgot.html", "reset.html#token=x", "verify.html"):
        b.get(SITE + PORTAL + page)
        unlabelled = b.execute_script(
            "return [...document.querySelectorAll('input')].filter(i => !i.labels || i.labels.length === 0)"
            ".map(i => i.id)")
        assert unlabelled == [], page
    b.get(SITE + PORTAL + "?next=%2Fprivate%2F")
    visible(b, "signin-form")
    # The page puts the focus on the e-mail field; Tab and Enter do the rest.
    wait(b, lambda d: d.switch_to.active_element.get_attribute("id") == "signin-email")
    active = b.switch_to.active_element
    active.send_keys(address, Keys.TAB)
    b.switch_to.active_element.send_keys("wrong-password", Keys.ENTER)
    message(b, r"wrong")
    assert b.switch_to.active_element.get_attribute("id") in ("message", "signin-password")
    b.find_element(By.ID, "signin-password").send_keys(Keys.CONTROL, "a")
    b.find_element(By.ID, "signin-password").send_keys(PASSWORD, Keys.ENTER)
    wait(b, EC.url_to_be(SITE + "/private/"))


def test_account_page_changes_email_and_password(b):
    address = unique_email("change")
    register(address)
    b.get(SITE + PORTAL)
    sign_in(b, address, PASSWORD)
    signed_in_page(b)
    new_address = unique_email("changed")
    fill(b, "new-email", new_address)
    b.find_element(By.CSS_SELECTOR, "#email-form button").click()
    message(b, r"now " + re.escape(new_address) + r"\. It needs to be confirmed again: we mailed")
    assert b.find_element(By.ID, "account-verified").text == "not confirmed yet"
    link, _ = link_in(wait_mail(new_address))
    assert link.startswith(SITE + PORTAL + "verify.html#token=")

    fill(b, "new-password", "round-table-9")
    fill(b, "new-password-again", "round-table-9")
    b.find_element(By.CSS_SELECTOR, "#password-form button").click()
    message(b, r"Your password is changed")
    r = requests.post(url("/auth/jwt/login"), data={"username": new_address, "password": "round-table-9"})
    assert r.status_code == 200


def test_apache_serves_the_portal_and_sends_browsers_to_it(b):
    address = unique_email("apache")
    register(address)
    r = requests.get(APACHE + "/protected/", headers={"Accept": "application/json"})
    assert (r.status_code, r.headers["content-type"], r.json()) == (401, "application/json", {"detail": "Unauthorized"})
    # A browser's 401 is the page that sends it on, as HTML.
    r = requests.get(APACHE + "/protected/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 401 and r.headers["content-type"].startswith("text/html") and "<html" in r.text.lower()
    assert requests.get(APACHE + PORTAL).status_code == 200
    b.get(APACHE + "/protected/index.html")
    wait(b, EC.url_contains(PORTAL + "?next="))
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(b.current_url).query)["next"] == ["/protected/index.html"]
    sign_in(b, address, PASSWORD)
    wait(b, EC.url_to_be(APACHE + "/protected/index.html"))
    assert "protected by fcgi-users through Apache" in b.find_element(By.TAG_NAME, "body").text


def test_verify_page_sends_the_link_again_and_says_when_a_link_is_bad(b):
    address = unique_email("again")
    register(address)
    b.get(SITE + PORTAL + "verify.html#token=not-a-token")
    message(b, r"does not work any more")
    assert "not-a-token" not in b.current_url
    fill(b, "resend-email", address)
    b.find_element(By.CSS_SELECTOR, "#resend-form button").click()
    message(b, r"a mail with a new link is on its way")
    link, _ = link_in(wait_mail(address))
    b.get(link)
    message(b, r"is confirmed")
    b.get(link.replace("verify.html", "verify.html?again"))
    message(b, r"confirmed already")


@pytest.fixture
def cookie_login_needs_verification():
    stack("app-restart", env={"FCGI_USERS_BACKEND_COOKIE_REQUIRES_VERIFICATION": "true"})
    yield
    stack("app-restart")


def test_sign_in_of_an_unconfirmed_address_says_so_and_sends_the_link_again(
        b, cookie_login_needs_verification):
    address = unique_email("unconfirmed")
    register(address)
    b.get(SITE + PORTAL)
    sign_in(b, address, PASSWORD)
    message(b, r"not confirmed yet")
    shot(b, "sign-in-unconfirmed")
    b.find_element(By.CSS_SELECTOR, "#signin-resend button").click()
    message(b, r"a mail with a new link is on its way")
    link, _ = link_in(wait_mail(address))
    b.get(link)
    message(b, r"is confirmed")
    b.get(SITE + PORTAL)
    sign_in(b, address, PASSWORD)
    signed_in_page(b)


# ------------------------------------------------------------ sessions (issue 12)

def test_sign_out_everywhere_ends_the_other_sessions_too(b):
    address = unique_email("everywhere")
    register(address)
    # Another browser (a cookie session on the same site) and an API client (a bearer token).
    # The cookie is Secure, which requests keeps from plain http: it is sent by hand.
    other = requests.Session()
    other.headers["Cookie"] = "fastapiusersauth=" + login(address, backend="cookie")
    token = login(address)
    assert other.get(SITE + "/users/me").status_code == 200
    assert requests.get(SITE + "/users/me", headers=bearer(token)).status_code == 200
    assert other.get(SITE + "/private/", allow_redirects=False).status_code == 200

    b.get(SITE + PORTAL)
    sign_in(b, address, PASSWORD)
    signed_in_page(b)
    button = visible(b, "logout-all-form").find_element(By.TAG_NAME, "button")
    assert button.text == "Sign out everywhere"
    shot(b, "account-sign-out-everywhere")
    button.click()
    message(b, r"^You are signed out on every device and browser\.$")
    visible(b, "signin-form")
    assert b.find_element(By.ID, "account").get_attribute("hidden") is not None
    shot(b, "signed-out-everywhere")

    assert other.get(SITE + "/users/me").status_code == 401
    assert requests.get(SITE + "/users/me", headers=bearer(token)).status_code == 401
    r = other.get(SITE + "/private/", headers={"Accept": "text/html"}, allow_redirects=False)
    assert r.status_code == 302
    location = urllib.parse.urlsplit(r.headers["location"])
    assert location.path == PORTAL and urllib.parse.parse_qs(location.query) == {"next": ["/private/"]}
    b.get(SITE + "/private/")
    wait(b, EC.url_contains(PORTAL + "?next="))
    visible(b, "signin-form")
    # A new sign-in works again.
    sign_in(b, address, PASSWORD)
    wait(b, EC.url_to_be(SITE + "/private/"))


def throttle_account_failures():
    """throttle.account_failures of the running stack, as `scripts/fcgi-users check-config` prints it."""
    out = subprocess.run([os.path.join(ROOT, "scripts", "fcgi-users"), "check-config"], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    m = re.search(r"^\s*throttle\.account_failures\s*[=:]\s*(\d+)\s*$", out, re.M)
    assert m, out
    return int(m.group(1))


def shown_wait(text):
    """The wait the page asks for, as (lowest, highest) seconds it can stand for."""
    m = re.search(r"Wait (\d+) (second|seconds|minute|minutes)\b", text)
    assert m, text
    n = int(m.group(1))
    return (n, n) if m.group(2).startswith("second") else ((n - 1) * 60 + 1, n * 60)


def test_too_many_wrong_passwords_says_how_long_to_wait(b):
    address = unique_email("throttled")
    register(address)
    b.get(SITE + PORTAL)
    visible(b, "signin-form")
    for i in range(throttle_account_failures()):
        # Each answer is awaited: the status area is emptied before each attempt.
        b.execute_script("document.getElementById('message').textContent = ''")
        sign_in(b, address, f"wrong-password-{i}")
        message(b, r"e-mail address or the password is wrong")

    def refused():
        r = requests.post(SITE + "/auth/cookie/login", data={"username": address, "password": "wrong"})
        assert r.status_code == 429 and r.json() == {"detail": "LOGIN_TOO_MANY_ATTEMPTS"}, r.text
        return int(r.headers["retry-after"])

    before = refused()
    b.execute_script("document.getElementById('message').textContent = ''")
    sign_in(b, address, PASSWORD)  # the right password too: the account waits
    text = message(b, r"Too many attempts")
    after = refused()
    shot(b, "sign-in-throttled")
    assert 1 <= after <= before
    low, high = shown_wait(text)
    # The page's Retry-After came between the two others; it is shown rounded up.
    assert low <= before and high >= after, (text, before, after)
    assert re.fullmatch(r"Too many attempts\. Wait \d+ (seconds?|minutes?), then try again\.", text), text
    page = b.find_element(By.TAG_NAME, "body").text
    for raw in ("LOGIN_TOO_MANY_ATTEMPTS", "detail", "{", "429", "Error", "undefined", "NaN"):
        assert raw not in page, (raw, page)
    assert b.current_url == SITE + PORTAL
    visible(b, "signin-form")
