// Sends a browser that met a 401 (Apache's ErrorDocument 401, which must be a
// local page) on to the portal's sign-in form with the address it asked for,
// percent-encoded, in next=. The portal is the folder this script is in.
"use strict";
(function () {
  const here = document.currentScript ? document.currentScript.src : window.location.href;
  const portal = new URL(".", here).pathname;
  const next = window.location.pathname + window.location.search;
  window.location.replace(portal + "?next=" + encodeURIComponent(next));
})();
