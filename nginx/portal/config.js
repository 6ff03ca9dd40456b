// Settings of the sign-in portal: edit them to match fcgi-users.conf when the
// API is not at the site's root or the cookie backend has another prefix.
window.fcgiUsersPortal = {
  api: "",                       // mount_prefix of the API; "" = the site's root
  cookieBackend: "/auth/cookie", // backend.cookie.prefix (the portal signs in with cookies)
  siteName: "",                  // shown in titles; "" = the site's host name
  passwordMinLength: 8,          // password.min_length, shown as a hint only
  // OAuth providers, e.g. [{name: "google", label: "Google"}]; null = read them
  // from the API's /openapi.json (every GET .../{name}/authorize route).
  providers: null,
};
