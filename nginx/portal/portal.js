// The sign-in portal's behaviour: each page (body data-page) wires its forms
// to the fcgi-users API on the same site and says in words what happened.
// No framework, no build step. Tokens from mailed links are read from the
// address's fragment, removed from the address bar at once, and sent only to
// the API; nothing here logs them. next= is followed only to a path of this
// site (see safeNext), so the portal is no open redirector.
"use strict";

(function () {
  const settings = Object.assign({ api: "", cookieBackend: "/auth/cookie", siteName: "",
    passwordMinLength: 8, providers: null }, window.fcgiUsersPortal || {});
  const NEXT_KEY = "fcgi-users-portal-next";
  const NEXT_TTL_MS = 2 * 3600 * 1000;

  // ------------------------------------------------------------ helpers

  function $(id) { return document.getElementById(id); }

  function show(id, visible) { const e = $(id); if (e) e.hidden = !visible; }

  // A message in the page's status area, read out by screen readers; errors
  // take the focus so a keyboard user lands on them.
  function say(text, kind) {
    const box = $("message");
    box.textContent = text;
    box.className = "message " + (kind || "info");
    box.hidden = !text;
    if (text && kind === "error") box.focus();
  }

  // Only a path of this site: "/..." but not "//..." nor "/\...", no control
  // characters or spaces (browsers drop tabs and line breaks, which would
  // turn "/\t/evil" into "//evil"), and the same origin once parsed. What is
  // returned is the parsed path, checked again as it will be used: removing
  // dot segments can make "//evil" of "/.//evil" or "/x/..//evil", which a
  // browser reads as another site.
  function safeNext(value) {
    if (typeof value !== "string" || value.length === 0 || value.length > 2048) return null;
    if (!isPath(value) || /[\u0000-\u0020\u007f\\]/.test(value)) return null;
    let u;
    try { u = new URL(value, window.location.origin); } catch (e) { return null; }
    if (u.origin !== window.location.origin) return null;
    const path = u.pathname + u.search + u.hash;
    return isPath(path) ? path : null;
  }

  function isPath(s) { return s[0] === "/" && s[1] !== "/" && s[1] !== "\\"; }

  // next= of this page, checked; remembered for a while so that it survives
  // the trip through the mailbox (sign up, verify, then sign in).
  function pageNext() {
    const raw = new URLSearchParams(window.location.search).get("next");
    if (raw === null) return { next: rememberedNext(), refused: false };
    const next = safeNext(raw);
    if (next) {
      try { localStorage.setItem(NEXT_KEY, JSON.stringify({ next: next, at: Date.now() })); } catch (e) {}
    }
    return { next: next, refused: next === null };
  }

  function rememberedNext() {
    try {
      const v = JSON.parse(localStorage.getItem(NEXT_KEY) || "null");
      if (v && Date.now() - v.at < NEXT_TTL_MS) return safeNext(v.next);
    } catch (e) {}
    return null;
  }

  function forgetNext() { try { localStorage.removeItem(NEXT_KEY); } catch (e) {} }

  // The token of a mailed link: "#token=..." (or "?token=..."), then gone
  // from the address bar and the history entry.
  function takeToken() {
    const hash = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    const query = new URLSearchParams(window.location.search);
    const token = hash.get("token") || query.get("token");
    if (window.location.hash || query.has("token")) {
      query.delete("token");
      const rest = query.toString();
      history.replaceState(null, "", window.location.pathname + (rest ? "?" + rest : ""));
    }
    return token;
  }

  async function api(method, path, body, form) {
    const init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" },
      cache: "no-store", referrerPolicy: "no-referrer" };
    if (form) {
      init.body = new URLSearchParams(form);
    } else if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(settings.api + path, init);
    } catch (e) {
      return { status: 0, data: null, headers: new Headers() };
    }
    let data = null;
    const text = await response.text();
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    return { status: response.status, data: data, headers: response.headers };
  }

  function code(result) {
    const d = result.data && result.data.detail;
    if (typeof d === "string") return d;
    if (d && typeof d === "object" && !Array.isArray(d)) return d.code || "";
    return "";
  }

  function reason(result) {
    const d = result.data && result.data.detail;
    return d && typeof d === "object" && !Array.isArray(d) && d.reason ? d.reason : "";
  }

  // Words for a 422: one sentence per field the API complained about.
  function invalidFields(result) {
    const d = result.data && result.data.detail;
    if (!Array.isArray(d) || d.length === 0) return "Some fields are not filled in as they should be.";
    const names = { email: "E-mail address", password: "Password", username: "E-mail address",
      token: "Link" };
    return d.map(function (p) {
      const field = Array.isArray(p.loc) ? p.loc[p.loc.length - 1] : "";
      return (names[field] || "A field") + ": " + (p.msg || "not valid") + ".";
    }).join(" ");
  }

  // What a person is told when the answer is none of those the page expects.
  function unexpected(result) {
    if (result.status === 0) return "The server could not be reached. Check your connection and try again.";
    if (result.status === 422) return invalidFields(result);
    if (result.status === 429) return tooMany(result);
    if (result.status >= 500) return "The server could not do this just now. Try again in a moment.";
    return "That did not work (the server answered " + result.status + "). Try again.";
  }

  function tooMany(result) {
    const wait = parseInt(result.headers.get("Retry-After") || "", 10);
    if (wait > 0) {
      const when = wait >= 120 ? Math.ceil(wait / 60) + " minutes"
                 : wait === 1 ? "1 second" : wait + " seconds";
      return "Too many attempts. Wait " + when + ", then try again.";
    }
    return "Too many attempts. Wait a little, then try again.";
  }

  // A form's submit, with its button disabled while the request runs.
  function onSubmit(id, handler) {
    const formEl = $(id);
    if (!formEl) return;
    formEl.addEventListener("submit", async function (event) {
      event.preventDefault();
      const buttons = formEl.querySelectorAll("button");
      buttons.forEach(function (b) { b.disabled = true; });
      try { await handler(formEl); } finally { buttons.forEach(function (b) { b.disabled = false; }); }
    });
  }

  function value(id) { return $(id).value; }

  function passwordsDiffer(a, b) {
    if (value(a) === value(b)) return false;
    say("The two passwords are not the same. Type the new password twice.", "error");
    $(b).focus();
    return true;
  }

  // Links between the pages keep next= along.
  function carryNext(next) {
    if (!next) return;
    document.querySelectorAll("a[data-keep-next]").forEach(function (a) {
      const u = new URL(a.getAttribute("href"), window.location.href);
      u.searchParams.set("next", next);
      a.setAttribute("href", u.pathname + u.search);
    });
  }

  async function openapiPaths() {
    const r = await api("GET", "/openapi.json");
    return r.status === 200 && r.data && r.data.paths ? r.data.paths : {};
  }

  // OAuth providers: from the settings, else every GET .../{name}/authorize
  // route of the API ("associate" routes link an account to a signed-in user).
  async function providers(paths) {
    const found = { signin: [], link: [] };
    if (Array.isArray(settings.providers)) {
      settings.providers.forEach(function (p) {
        found.signin.push({ label: p.label || p.name, path: "/auth/" + p.name + "/authorize" });
        found.link.push({ label: p.label || p.name, path: "/auth/associate/" + p.name + "/authorize" });
      });
      return found;
    }
    Object.keys(paths).forEach(function (path) {
      const m = /\/([A-Za-z0-9_.-]+)\/authorize$/.exec(path);
      if (!m || !paths[path].get) return;
      const label = m[1].replace(/-cookie$/, "").replace(/^./, function (c) { return c.toUpperCase(); });
      (/\/associate\//.test(path) ? found.link : found.signin).push({ label: label, path: path });
    });
    return found;
  }

  function providerButtons(containerId, list, verb) {
    const box = $(containerId);
    if (!box || list.length === 0) return;
    list.forEach(function (p) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "secondary";
      b.textContent = verb + " " + p.label;
      b.addEventListener("click", async function () {
        const r = await api("GET", p.path);
        if (r.status === 200 && r.data && typeof r.data.authorization_url === "string" &&
            /^https?:\/\//.test(r.data.authorization_url)) {
          window.location.assign(r.data.authorization_url);
        } else {
          say("Signing in with " + p.label + " is not available just now. " + unexpected(r), "error");
        }
      });
      box.appendChild(b);
    });
    box.hidden = false;
  }

  // ------------------------------------------------------------ pages

  async function signinPage() {
    const nav = pageNext();
    carryNext(nav.next);
    if (nav.refused) {
      say("The link you followed asked to go on to another site after signing in. " +
        "The portal only returns to pages of this site, so it will not.", "warning");
    }
    const paths = await openapiPaths();
    const me = await api("GET", "/users/me");
    if (me.status === 200) return accountPage(me.data, nav.next, paths);
    show("signin", true);
    providerButtons("oauth-signin", (await providers(paths)).signin, "Sign in with");
    $("signin-email").focus();

    onSubmit("signin-form", async function () {
      const r = await api("POST", settings.cookieBackend + "/login", undefined,
        { username: value("signin-email"), password: value("signin-password") });
      if (r.status === 200 || r.status === 204) {
        forgetNext();
        window.location.replace(nav.next || window.location.pathname);
        return;
      }
      const c = code(r);
      if (c === "LOGIN_BAD_CREDENTIALS") {
        say("The e-mail address or the password is wrong. Check both and try again.", "error");
        $("signin-password").select();
      } else if (c === "LOGIN_USER_NOT_VERIFIED") {
        say("This account's e-mail address is not confirmed yet. Open the link we mailed you, " +
          "or ask for a new one below.", "error");
        show("signin-resend", true);
      } else {
        say(unexpected(r), "error");
      }
    });
    onSubmit("signin-resend", async function () {
      await requestVerify(value("signin-email"));
    });
  }

  async function requestVerify(email) {
    const r = await api("POST", "/auth/request-verify-token", { email: email });
    if (r.status === 202) {
      say("If " + email + " belongs to an account that is not confirmed yet, a mail with a new " +
        "link is on its way. Check your mail.", "success");
    } else {
      say(unexpected(r), "error");
    }
  }

  async function accountPage(user, next, paths) {
    show("signin", false);
    show("account", true);
    document.title = "Your account - " + siteName();
    $("account-email").textContent = user.email;
    $("account-verified").textContent = user.is_verified ? "confirmed" : "not confirmed yet";
    show("account-resend", !user.is_verified);
    if (next) {
      $("account-next").setAttribute("href", next);
      show("account-next-line", true);
    }
    $("account-heading").focus();

    const oauth = Array.isArray(user.oauth_accounts) ? user.oauth_accounts : [];
    const list = $("oauth-linked");
    oauth.forEach(function (a) {
      const li = document.createElement("li");
      li.textContent = (a.oauth_name || "account") + (a.account_email ? ": " + a.account_email : "");
      list.appendChild(li);
    });
    const found = await providers(paths);
    show("oauth-section", oauth.length > 0 || found.link.length > 0);
    providerButtons("oauth-link", found.link, "Link your account at");

    const logoutAll = Object.keys(paths).find(function (p) { return /\/logout-all$/.test(p); });
    show("logout-all-form", Boolean(logoutAll));

    onSubmit("account-resend", async function () { await requestVerify(user.email); });

    onSubmit("email-form", async function () {
      const email = value("new-email");
      const r = await api("PATCH", "/users/me", { email: email });
      if (r.status === 200) {
        user = r.data;
        $("account-email").textContent = user.email;
        $("account-verified").textContent = user.is_verified ? "confirmed" : "not confirmed yet";
        show("account-resend", !user.is_verified);
        $("new-email").value = "";
        const v = await api("POST", "/auth/request-verify-token", { email: user.email });
        say("Your e-mail address is now " + user.email + ". It needs to be confirmed again" +
          (v.status === 202 ? ": we mailed a link to it." : "."), "success");
      } else if (code(r) === "UPDATE_USER_EMAIL_ALREADY_EXISTS") {
        say("Another account uses " + email + " already. Choose another address.", "error");
      } else {
        say(unexpected(r), "error");
      }
    });

    onSubmit("password-form", async function () {
      if (passwordsDiffer("new-password", "new-password-again")) return;
      const r = await api("PATCH", "/users/me", { password: value("new-password") });
      if (r.status === 200) {
        $("new-password").value = "";
        $("new-password-again").value = "";
        say("Your password is changed. Use the new one next time you sign in.", "success");
      } else if (code(r) === "UPDATE_USER_INVALID_PASSWORD") {
        say("This password cannot be used: " + (reason(r) || "it does not meet the rules") + ".", "error");
      } else if (r.status === 401) {
        signedOut("expired");
      } else {
        say(unexpected(r), "error");
      }
    });

    onSubmit("logout-form", async function () {
      const r = await api("POST", settings.cookieBackend + "/logout");
      if (r.status === 204 || r.status === 401) signedOut("here");
      else say(unexpected(r), "error");
    });

    onSubmit("logout-all-form", async function () {
      const r = await api("POST", logoutAll.replace(settings.api, ""));
      if (r.status === 204 || r.status === 200 || r.status === 401) {
        await api("POST", settings.cookieBackend + "/logout");
        signedOut("everywhere");
      } else {
        say(unexpected(r), "error");
      }
    });
  }

  // Back to the sign-in form, with a word on why (one of a few fixed texts:
  // the address never carries words that a link could forge).
  const SIGNED_OUT = { here: "You are signed out.",
    everywhere: "You are signed out on every device and browser.",
    expired: "Your session has ended. Sign in again." };
  function signedOut(why) {
    window.location.replace(window.location.pathname + "?signed-out=" + why);
  }

  async function signupPage() {
    const nav = pageNext();
    carryNext(nav.next);
    $("signup-min").textContent = String(settings.passwordMinLength);
    $("signup-email").focus();
    onSubmit("signup-form", async function () {
      if (passwordsDiffer("signup-password", "signup-password-again")) return;
      const email = value("signup-email");
      const r = await api("POST", "/auth/register", { email: email, password: value("signup-password") });
      if (r.status === 201) {
        const v = await api("POST", "/auth/request-verify-token", { email: email });
        show("signup-form", false);
        $("signup-done-email").textContent = email;
        show("signup-done", true);
        say(v.status === 202 ? "Your account is made. Check your mail." :
          "Your account is made, but the confirmation mail could not be asked for. " +
          "Use \"send the link again\" in a moment.", v.status === 202 ? "success" : "warning");
        $("signup-done-heading").focus();
      } else if (code(r) === "REGISTER_USER_ALREADY_EXISTS") {
        say("An account with this e-mail address exists already. Sign in, or choose " +
          "\"Forgot your password?\" if you do not remember it.", "error");
      } else if (code(r) === "REGISTER_INVALID_PASSWORD") {
        say("This password cannot be used: " + (reason(r) || "it does not meet the rules") + ".", "error");
        $("signup-password").select();
      } else {
        say(unexpected(r), "error");
      }
    });
  }

  async function forgotPage() {
    carryNext(pageNext().next);
    $("forgot-email").focus();
    onSubmit("forgot-form", async function () {
      const r = await api("POST", "/auth/forgot-password", { email: value("forgot-email") });
      // The same words whatever the address: the page tells no one which addresses have accounts.
      if (r.status === 202) {
        say("If an account uses this address, a mail with a link to choose a new password is on " +
          "its way. Check your mail.", "success");
      } else {
        say(unexpected(r), "error");
      }
    });
  }

  async function resetPage() {
    const token = takeToken();
    if (!token) {
      show("reset-form", false);
      say("This page needs the link from the password mail. Ask for a new mail if you lost it.", "error");
      return;
    }
    $("reset-password").focus();
    onSubmit("reset-form", async function () {
      if (passwordsDiffer("reset-password", "reset-password-again")) return;
      const r = await api("POST", "/auth/reset-password", { token: token, password: value("reset-password") });
      if (r.status === 200) {
        show("reset-form", false);
        say("Your password is changed. You can sign in with it now.", "success");
        show("reset-done", true);
      } else if (code(r) === "RESET_PASSWORD_BAD_TOKEN") {
        show("reset-form", false);
        say("This link does not work any more: it was used already, or it expired. " +
          "Ask for a new mail.", "error");
      } else if (code(r) === "RESET_PASSWORD_INVALID_PASSWORD") {
        say("This password cannot be used: " + (reason(r) || "it does not meet the rules") + ".", "error");
      } else {
        say(unexpected(r), "error");
      }
    });
  }

  async function verifyPage() {
    const token = takeToken();
    onSubmit("resend-form", async function () { await requestVerify(value("resend-email")); });
    if (!token) {
      say("To confirm your address, open the link from the mail we sent. You can ask for it again below.",
        "info");
      return;
    }
    say("Confirming your address...", "info");
    const r = await api("POST", "/auth/verify", { token: token });
    if (r.status === 200) {
      say("Your e-mail address " + r.data.email + " is confirmed. You can sign in now.", "success");
      show("verify-done", true);
      show("resend-form", false);
    } else if (code(r) === "VERIFY_USER_ALREADY_VERIFIED") {
      say("This address is confirmed already. You can sign in.", "success");
      show("verify-done", true);
      show("resend-form", false);
    } else if (code(r) === "VERIFY_USER_BAD_TOKEN") {
      say("This link does not work any more: it expired, or the account's address changed since. " +
        "Ask for a new one below.", "error");
    } else {
      say(unexpected(r), "error");
    }
  }

  function siteName() { return settings.siteName || window.location.hostname; }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".site-name").forEach(function (e) { e.textContent = siteName(); });
    const why = new URLSearchParams(window.location.search).get("signed-out");
    const signedOutText = Object.prototype.hasOwnProperty.call(SIGNED_OUT, why) ? SIGNED_OUT[why] : "";
    const pages = { signin: signinPage, signup: signupPage, forgot: forgotPage, reset: resetPage,
      verify: verifyPage };
    const page = pages[document.body.getAttribute("data-page")];
    // A mailed link opened again on the same page changes only the fragment:
    // start afresh with its token.
    window.addEventListener("hashchange", function () {
      if (/(^#|&)token=/.test(window.location.hash)) window.location.reload();
    });
    if (page) page().then(function () {
      if (signedOutText && $("signin") && !$("signin").hidden) say(signedOutText, "success");
    });
  });
})();
