#!/usr/bin/env node
// End-to-end check of provider.mjs: starts it on a free port with example-config.json,
// runs the authorization code + PKCE flow the way a browserless HTTP client would, checks
// the failure hooks, stops it with SIGTERM. Exits 0 when everything passed.
//
//   node tests/oidc/selftest.mjs

import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONFIG = path.join(HERE, 'example-config.json');
const REDIRECT_URI = 'http://127.0.0.1:8080/auth/callback';
const CLIENTS = {
  basic: { id: 'portico', secret: 'portico-test-secret', method: 'basic' },
  post: { id: 'portico-post', secret: 'portico-post-secret', method: 'post' },
};

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}\n     ${err.stack || err}`);
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}
function eq(actual, expected, what) {
  assert(actual === expected, `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

// --- a minimal cookie jar (name + path; host is always the provider) -------------------
class CookieJar {
  #cookies = new Map(); // key `${path}\t${name}` -> { name, value, path }

  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eqAt = pair.indexOf('=');
      const name = pair.slice(0, eqAt);
      const value = pair.slice(eqAt + 1);
      let cookiePath = '/';
      let expired = false;
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        if (k.toLowerCase() === 'path') cookiePath = v;
        if (k.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()) expired = true;
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      }
      const key = `${cookiePath}\t${name}`;
      if (expired || value === '') this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path: cookiePath });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    return [...this.#cookies.values()]
      .filter((c) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

async function request(jar, url, init = {}) {
  const headers = new Headers(init.headers || {});
  const cookie = jar.header(url);
  if (cookie) headers.set('cookie', cookie);
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(res);
  return res;
}

// Follows redirects (GET, cookie jar) until the Location points at the client's
// redirect_uri, which is returned as a URL; or returns the first non-redirect response.
async function followUntilCallback(jar, res, base) {
  for (let hops = 0; hops < 10; hops += 1) {
    if (![302, 303].includes(res.status)) return { res };
    const location = new URL(res.headers.get('location'), base);
    if (location.href.startsWith(REDIRECT_URI)) return { callback: location };
    res = await request(jar, location.href);
  }
  throw new Error('too many redirects');
}

function pkce() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

function authorizeUrl(discovery, client, extra = {}) {
  const url = new URL(discovery.authorization_endpoint);
  const params = {
    response_type: 'code',
    client_id: client.id,
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    ...extra,
  };
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.href;
}

async function tokenRequest(discovery, client, form) {
  const body = new URLSearchParams(form);
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.method === 'basic') {
    const user = encodeURIComponent(client.id);
    const pass = encodeURIComponent(client.secret);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  } else {
    body.set('client_id', client.id);
    body.set('client_secret', client.secret);
  }
  const res = await fetch(discovery.token_endpoint, { method: 'POST', headers, body });
  return { status: res.status, json: await res.json() };
}

async function verifyIdToken(discovery, idToken) {
  const [h, p, s] = idToken.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  eq(header.alg, 'RS256', 'id_token alg');
  const jwks = await (await fetch(discovery.jwks_uri)).json();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert(jwk, `no JWKS key with kid ${header.kid}`);
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
  assert(ok, 'id_token signature does not verify against the JWKS');
  return JSON.parse(Buffer.from(p, 'base64url'));
}

// Runs authorize -> login form -> callback; returns { callback, state, nonce, verifier }.
async function loginFlow(discovery, jar, client, loginField) {
  const { verifier, challenge } = pkce();
  const state = crypto.randomBytes(12).toString('base64url');
  const nonce = crypto.randomBytes(12).toString('base64url');
  let res = await request(jar, authorizeUrl(discovery, client, {
    state, nonce, code_challenge: challenge, code_challenge_method: 'S256',
  }));
  eq(res.status, 303, 'authorize status');
  const interaction = new URL(res.headers.get('location'), discovery.issuer);
  assert(/^\/interaction\/[^/]+$/.test(interaction.pathname), `unexpected interaction ${interaction}`);
  res = await request(jar, interaction.href);
  eq(res.status, 200, 'login page status');
  const html = await res.text();
  assert(html.includes(`action="${interaction.pathname}/login"`), 'login page has no login form');

  res = await request(jar, `${interaction.href}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(loginField),
  });
  eq(res.status, 303, 'login POST status');
  const { callback } = await followUntilCallback(jar, res, discovery.issuer);
  assert(callback, 'flow did not reach the redirect_uri');
  return { callback, state, nonce, verifier };
}

async function startProvider() {
  const child = spawn(process.execPath, [path.join(HERE, 'provider.mjs'), '--port', '0', '--config', CONFIG], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const issuer = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`provider not READY in 15s\n${stderr}`)), 15000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^READY (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`provider exited ${code}\n${stderr}`)); });
  });
  return { child, issuer, stdout: () => child.stdout };
}

async function main() {
  const { child, issuer } = await startProvider();
  let extraStdout = '';
  child.stdout.on('data', (d) => { extraStdout += d; });
  child.removeAllListeners('exit');
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  console.log(`provider at ${issuer}`);

  let discovery;
  try {
    await check('discovery document', async () => {
      const res = await fetch(`${issuer}/.well-known/openid-configuration`);
      eq(res.status, 200, 'discovery status');
      discovery = await res.json();
      eq(discovery.issuer, issuer, 'issuer');
      eq(discovery.authorization_endpoint, `${issuer}/auth`, 'authorization_endpoint');
      eq(discovery.token_endpoint, `${issuer}/token`, 'token_endpoint');
      assert(discovery.code_challenge_methods_supported?.includes('S256'), 'S256 not supported');
      eq(discovery.authorization_response_iss_parameter_supported, true, 'iss parameter supported');
      for (const s of ['openid', 'email', 'profile']) assert(discovery.scopes_supported.includes(s), `scope ${s}`);
      for (const c of ['sub', 'email', 'email_verified', 'name']) assert(discovery.claims_supported.includes(c), `claim ${c}`);
      for (const m of ['client_secret_basic', 'client_secret_post']) {
        assert(discovery.token_endpoint_auth_methods_supported.includes(m), `auth method ${m}`);
      }
    });
    if (!discovery) throw new Error('no discovery document, cannot go on');

    const jar = new CookieJar();
    let code;
    let flow;
    await check('authorize + login form (login=alice) reaches redirect_uri with code, state, iss', async () => {
      flow = await loginFlow(discovery, jar, CLIENTS.basic, { login: 'alice' });
      const q = flow.callback.searchParams;
      eq(q.get('state'), flow.state, 'state');
      eq(q.get('iss'), issuer, 'iss');
      assert(!q.get('error'), `error ${q.get('error')}: ${q.get('error_description')}`);
      code = q.get('code');
      assert(code, 'no code');
    });

    let accessToken;
    await check('token exchange (client_secret_basic): id_token has sub, email, email_verified, name, nonce', async () => {
      const { status, json } = await tokenRequest(discovery, CLIENTS.basic, {
        grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: flow.verifier,
      });
      eq(status, 200, `token status (${JSON.stringify(json)})`);
      eq(json.token_type, 'Bearer', 'token_type');
      assert(json.access_token, 'no access_token');
      accessToken = json.access_token;
      const claims = await verifyIdToken(discovery, json.id_token);
      eq(claims.iss, issuer, 'id_token iss');
      eq(claims.aud, CLIENTS.basic.id, 'id_token aud');
      eq(claims.sub, 'alice', 'id_token sub');
      eq(claims.email, 'alice@example.com', 'id_token email');
      eq(claims.email_verified, true, 'id_token email_verified');
      eq(claims.name, 'Alice Admin', 'id_token name');
      eq(claims.nonce, flow.nonce, 'id_token nonce');
    });

    await check('userinfo with the access token', async () => {
      const res = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${accessToken}` } });
      eq(res.status, 200, 'userinfo status');
      const info = await res.json();
      eq(info.sub, 'alice', 'sub');
      eq(info.email, 'alice@example.com', 'email');
    });

    await check('the same code cannot be redeemed twice (and the replay revokes its access token)', async () => {
      const { status, json } = await tokenRequest(discovery, CLIENTS.basic, {
        grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: flow.verifier,
      });
      eq(status, 400, 'status');
      eq(json.error, 'invalid_grant', 'error');
      // Replaying a code revokes what it had issued.
      const res = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${accessToken}` } });
      eq(res.status, 401, 'userinfo status after replay');
    });

    await check('second authorization with the session cookie skips the login form', async () => {
      const { verifier, challenge } = pkce();
      const res = await request(jar, authorizeUrl(discovery, CLIENTS.basic, {
        state: 's2', nonce: 'n2', code_challenge: challenge, code_challenge_method: 'S256', prompt: 'none',
      }));
      const { callback } = await followUntilCallback(jar, res, issuer);
      assert(callback, 'did not reach the redirect_uri');
      const c2 = callback.searchParams.get('code');
      assert(c2, `no code: ${callback.search}`);
      const { status, json } = await tokenRequest(discovery, CLIENTS.basic, {
        grant_type: 'authorization_code', code: c2, redirect_uri: REDIRECT_URI, code_verifier: verifier,
      });
      eq(status, 200, 'token status');
      const claims = await verifyIdToken(discovery, json.id_token);
      eq(claims.sub, 'alice', 'sub');
      eq(claims.nonce, 'n2', 'nonce');
    });

    await check('client_secret_post + email= login: account flagged email_verified false', async () => {
      const f = await loginFlow(discovery, new CookieJar(), CLIENTS.post, { email: 'mallory@example.com' });
      const c = f.callback.searchParams.get('code');
      assert(c, `no code: ${f.callback.search}`);
      const { status, json } = await tokenRequest(discovery, CLIENTS.post, {
        grant_type: 'authorization_code', code: c, redirect_uri: REDIRECT_URI, code_verifier: f.verifier,
      });
      eq(status, 200, `token status (${JSON.stringify(json)})`);
      const claims = await verifyIdToken(discovery, json.id_token);
      eq(claims.sub, 'mallory', 'sub');
      eq(claims.email_verified, false, 'email_verified');
      eq(claims.nonce, f.nonce, 'nonce');
    });

    await check('wrong code_verifier is rejected with invalid_grant', async () => {
      const f = await loginFlow(discovery, new CookieJar(), CLIENTS.basic, { login: 'bob' });
      const { status, json } = await tokenRequest(discovery, CLIENTS.basic, {
        grant_type: 'authorization_code',
        code: f.callback.searchParams.get('code'),
        redirect_uri: REDIRECT_URI,
        code_verifier: pkce().verifier,
      });
      eq(status, 400, 'status');
      eq(json.error, 'invalid_grant', 'error');
    });

    await check('wrong client_secret is rejected with invalid_client', async () => {
      const f = await loginFlow(discovery, new CookieJar(), CLIENTS.basic, { login: 'bob' });
      const { status, json } = await tokenRequest(discovery, { ...CLIENTS.basic, secret: 'nope' }, {
        grant_type: 'authorization_code',
        code: f.callback.searchParams.get('code'),
        redirect_uri: REDIRECT_URI,
        code_verifier: f.verifier,
      });
      eq(status, 401, 'status');
      eq(json.error, 'invalid_client', 'error');
    });

    await check('authorization without PKCE is refused (error=invalid_request to redirect_uri)', async () => {
      const res = await request(new CookieJar(), authorizeUrl(discovery, CLIENTS.basic, { state: 'np', nonce: 'np' }));
      eq(res.status, 303, 'status');
      const loc = new URL(res.headers.get('location'));
      assert(loc.href.startsWith(REDIRECT_URI), `redirected to ${loc}`);
      eq(loc.searchParams.get('error'), 'invalid_request', 'error');
      eq(loc.searchParams.get('state'), 'np', 'state');
    });

    await check('plain code_challenge_method is refused', async () => {
      const res = await request(new CookieJar(), authorizeUrl(discovery, CLIENTS.basic, {
        state: 'pl', code_challenge: pkce().verifier, code_challenge_method: 'plain',
      }));
      const loc = new URL(res.headers.get('location'));
      eq(loc.searchParams.get('error'), 'invalid_request', 'error');
    });

    await check('unknown login re-shows the form with 401', async () => {
      const j = new CookieJar();
      const res = await request(j, authorizeUrl(discovery, CLIENTS.basic, {
        state: 'u', code_challenge: pkce().challenge, code_challenge_method: 'S256',
      }));
      const interaction = new URL(res.headers.get('location'), issuer);
      const post = await request(j, `${interaction.href}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'login=nobody',
      });
      eq(post.status, 401, 'status');
      assert((await post.text()).includes('unknown account'), 'no error text');
    });

    await check('abort (cancel) returns error=access_denied to redirect_uri', async () => {
      const j = new CookieJar();
      let res = await request(j, authorizeUrl(discovery, CLIENTS.basic, {
        state: 'ab', code_challenge: pkce().challenge, code_challenge_method: 'S256',
      }));
      const interaction = new URL(res.headers.get('location'), issuer);
      res = await request(j, `${interaction.href}/abort`, { method: 'POST' });
      const { callback } = await followUntilCallback(j, res, issuer);
      assert(callback, 'did not reach the redirect_uri');
      eq(callback.searchParams.get('error'), 'access_denied', 'error');
      eq(callback.searchParams.get('state'), 'ab', 'state');
      eq(callback.searchParams.get('iss'), issuer, 'iss');
    });

    await check('unregistered redirect_uri is not redirected to', async () => {
      const url = new URL(authorizeUrl(discovery, CLIENTS.basic, {
        state: 'x', code_challenge: pkce().challenge, code_challenge_method: 'S256',
      }));
      url.searchParams.set('redirect_uri', 'http://127.0.0.1:9/evil');
      const res = await request(new CookieJar(), url.href);
      eq(res.status, 400, 'status');
    });
  } finally {
    child.kill('SIGTERM');
  }

  await check('provider exits 0 on SIGTERM and printed only the READY line on stdout', async () => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const { code, signal } = await exited;
    clearTimeout(timer);
    eq(signal, null, 'signal');
    eq(code, 0, 'exit code');
    eq(extraStdout, '', 'stdout after READY');
  });

  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err.stack || err);
  process.exit(1);
});
