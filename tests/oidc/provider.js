// The OpenID Connect provider of the test stack and of the demo: npm's
// oidc-provider (a certified implementation) on loopback, with its own
// development login and consent pages. Any login name is an account: its
// e-mail is the name (verified), "unverified+x@y" gives x@y unverified,
// "noemail" gives none. One client per fcgi-users provider name.
//
// Beside it, on OIDC_AUX_PORT, the broken providers the tests need: /stall
// accepts and never answers, /huge answers 5 MiB, /badjson answers garbage.
//
// Environment: OIDC_PORT, OIDC_AUX_PORT (0: none), OIDC_REDIRECT_BASE (the
// site, e.g. http://127.0.0.1:8080), OIDC_CLIENT_SECRET, OIDC_CLIENTS
// (comma separated names; a name ending in "pub" is a public client).
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT || 8089);
const auxPort = Number(process.env.OIDC_AUX_PORT || 0);
const base = process.env.OIDC_REDIRECT_BASE || 'http://127.0.0.1:8080';
const secret = process.env.OIDC_CLIENT_SECRET || 'demo-client-secret-demo-client-secret';
const names = (process.env.OIDC_CLIENTS || 'corp').split(',').filter(Boolean);
const issuer = `http://127.0.0.1:${port}`;
// The client whose access tokens are padded past 4 KiB (Microsoft's are
// over 2 KiB): the padding is cut off again when the token comes back to
// userinfo, so the provider still knows it.
const LONG_CLIENT = 'corplong';
const PAD = '~' + 'x'.repeat(4500);

const clients = names.map((name) => {
  const client = {
    client_id: name,
    redirect_uris: [`${base}/auth/${name}/callback`, `${base}/auth/associate/${name}/callback`],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  };
  if (name.endsWith('pub')) client.token_endpoint_auth_method = 'none';
  else Object.assign(client, { client_secret: secret, token_endpoint_auth_method: 'client_secret_basic' });
  return client;
});

const provider = new Provider(issuer, {
  clients,
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        if (id === 'noemail') return { sub: id };
        const unverified = id.startsWith('unverified+');
        return { sub: id, email: unverified ? id.slice('unverified+'.length) : id, email_verified: !unverified };
      },
    };
  },
  ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
});
provider.proxy = false;

provider.use(async (ctx, next) => {
  const auth = ctx.headers.authorization;
  if (ctx.path === '/me' && auth && auth.includes('~')) ctx.headers.authorization = auth.slice(0, auth.indexOf('~'));
  await next();
  if (ctx.path === '/token' && ctx.body && ctx.body.access_token && ctx.oidc?.client?.clientId === LONG_CLIENT) {
    ctx.body = { ...ctx.body, access_token: ctx.body.access_token + PAD };
  }
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}, clients ${names.join(', ')}`);
});

if (auxPort) {
  const aux = http.createServer((req, res) => {
    if (req.url.startsWith('/stall')) return;  // accepted, never answered
    if (req.url.startsWith('/huge')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"issuer": "' + 'x'.repeat(5 * 1024 * 1024) + '"}');
      return;
    }
    if (req.url.startsWith('/badjson')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"issuer": [1, 2');
      return;
    }
    res.writeHead(404);
    res.end();
  });
  aux.listen(auxPort, '127.0.0.1');
}
