// The OpenID Connect provider of the test stack and of the demo: npm's
// oidc-provider (a certified implementation) on loopback, with its own
// development login and consent pages. Any login name is an account: its
// e-mail is the name (verified), "unverified+x@y" gives x@y unverified,
// "noemail" gives none. One client per fcgi-users provider name.
//
// Beside it, on OIDC_AUX_PORT, the broken providers the tests need: /stall
// accepts and never answers, /huge answers 5 MiB, /badjson answers garbage;
// and /rotating, a provider that replaces its signing key when asked (POST
// /rotating/rotate?kid=NAME, or kid=none for a key without one), which
// oidc-provider cannot do while it runs: a key reused under the same kid, or
// published without a kid. GET /rotating/stats counts the JWKS fetches. Its
// authorization endpoint signs in at once as the `email` parameter the test
// adds to the authorization URL.
//
// Environment: OIDC_PORT, OIDC_AUX_PORT (0: none), OIDC_REDIRECT_BASE (the
// site, e.g. http://127.0.0.1:8080), OIDC_CLIENT_SECRET, OIDC_CLIENTS
// (comma separated names; a name ending in "pub" is a public client).
import crypto from 'node:crypto';
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

// The /rotating provider's state: its key, and the codes it issued.
const rotating = { key: null, kid: 'rotating-1', codes: new Map(), jwksFetches: 0 };
function rotateKey(kid) {
  rotating.key = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  rotating.kid = kid;
}
rotateKey('rotating-1');

const b64url = (data) => Buffer.from(data).toString('base64url');

function rotatingProvider(req, res, body) {
  const base = `http://127.0.0.1:${auxPort}/rotating`;
  const u = new URL(req.url, base);
  const json = (status, doc) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(doc));
  };
  if (u.pathname === '/rotating/.well-known/openid-configuration') {
    return json(200, {
      issuer: base, authorization_endpoint: `${base}/auth`, token_endpoint: `${base}/token`,
      jwks_uri: `${base}/jwks`, response_types_supported: ['code'], subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
  }
  if (u.pathname === '/rotating/stats') return json(200, { jwks_fetches: rotating.jwksFetches });
  if (u.pathname === '/rotating/jwks') {
    rotating.jwksFetches += 1;
    const jwk = { ...rotating.key.publicKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' };
    if (rotating.kid) jwk.kid = rotating.kid;
    return json(200, { keys: [jwk] });
  }
  if (u.pathname === '/rotating/rotate' && req.method === 'POST') {
    const kid = u.searchParams.get('kid');
    rotateKey(kid === 'none' ? null : kid || rotating.kid);
    return json(200, { kid: rotating.kid });
  }
  if (u.pathname === '/rotating/auth') {
    const code = b64url(crypto.randomBytes(24));
    rotating.codes.set(code, { email: u.searchParams.get('email'), nonce: u.searchParams.get('nonce') });
    const back = new URL(u.searchParams.get('redirect_uri'));
    back.searchParams.set('code', code);
    back.searchParams.set('state', u.searchParams.get('state'));
    res.writeHead(302, { Location: back.toString() });
    return res.end();
  }
  if (u.pathname === '/rotating/token' && req.method === 'POST') {
    const code = new URLSearchParams(body).get('code');
    const grant = rotating.codes.get(code);
    rotating.codes.delete(code);
    if (!grant) return json(400, { error: 'invalid_grant' });
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT' };
    if (rotating.kid) header.kid = rotating.kid;
    const claims = { iss: base, aud: 'rotating', sub: grant.email, email: grant.email, email_verified: true,
                     nonce: grant.nonce, iat: now, exp: now + 300 };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = crypto.sign('sha256', Buffer.from(input), rotating.key.privateKey);
    return json(200, { access_token: b64url(crypto.randomBytes(24)), token_type: 'Bearer', expires_in: 300,
                       id_token: `${input}.${b64url(signature)}` });
  }
  res.writeHead(404);
  res.end();
}

if (auxPort) {
  const aux = http.createServer((req, res) => {
    if (req.url.startsWith('/rotating/')) {
      let body = '';
      req.on('data', (chunk) => { body += chunk; });
      req.on('end', () => rotatingProvider(req, res, body));
      return;
    }
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
