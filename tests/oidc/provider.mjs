#!/usr/bin/env node
// A real OpenID Connect provider (panva's oidc-provider) for Portico's integration tests.
//
//   node tests/oidc/provider.mjs [--port N] [--config FILE]
//   (or env OIDC_PORT / OIDC_CONFIG; port 0 or none picks a free port)
//
// Listens on 127.0.0.1 only, issuer http://127.0.0.1:<port>. Prints exactly one line
// `READY <issuer>` to stdout once listening; everything else goes to stderr.
// Exits 0 on SIGTERM / SIGINT. See README.md beside this file for the config format and
// the browserless login steps.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

// Keep stdout for the READY line alone: oidc-provider and its dependencies log notices
// with console.info / console.log, send those to stderr.
const toStderr = (...args) => process.stderr.write(`${args.map(String).join(' ')}\n`);
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;

// A test harness that stops reading our output must not crash the provider.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCOPES = ['openid', 'email', 'profile'];
const CLAIMS = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name'],
};
const ACCOUNT_FIELDS = ['email', 'email_verified', 'name'];

function die(message) {
  process.stderr.write(`oidc test provider: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const m = /^--(port|config)(?:=(.*))?$/.exec(arg);
    if (m) {
      const value = m[2] !== undefined ? m[2] : argv[(i += 1)];
      if (value === undefined) die(`${arg} needs a value`);
      out[m[1]] = value;
    } else if (arg === '-h' || arg === '--help') {
      process.stderr.write('usage: node provider.mjs [--port N] [--config FILE]\n'
        + '       env OIDC_PORT, OIDC_CONFIG work too; port 0 picks a free port\n');
      process.exit(0);
    } else if (/^\d+$/.test(arg) && out.port === undefined) {
      out.port = arg;
    } else if (out.config === undefined) {
      out.config = arg;
    } else {
      die(`unexpected argument ${JSON.stringify(arg)}`);
    }
  }
  return out;
}

function loadConfig(file) {
  let raw;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    die(`cannot read config ${file}: ${err.message}`);
  }
  const clients = raw.clients;
  const accounts = raw.accounts;
  if (!Array.isArray(clients) || clients.length === 0) die('config: "clients" must be a non-empty array');
  if (!Array.isArray(accounts)) die('config: "accounts" must be an array');

  const clientList = clients.map((c, i) => {
    if (!c || typeof c.client_id !== 'string' || !c.client_id) die(`config: clients[${i}].client_id missing`);
    if (!Array.isArray(c.redirect_uris) || c.redirect_uris.length === 0) {
      die(`config: clients[${i}].redirect_uris must be a non-empty array`);
    }
    const method = c.token_endpoint_auth_method ?? 'client_secret_basic';
    if (method !== 'none' && typeof c.client_secret !== 'string') {
      die(`config: clients[${i}].client_secret missing (token_endpoint_auth_method ${method})`);
    }
    // Any other client metadata oidc-provider knows is passed through as given.
    return {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      ...c,
      token_endpoint_auth_method: method,
    };
  });

  const accountMap = new Map();
  accounts.forEach((a, i) => {
    if (!a || typeof a.sub !== 'string' || !a.sub) die(`config: accounts[${i}].sub missing`);
    if (accountMap.has(a.sub)) die(`config: duplicate account sub ${a.sub}`);
    accountMap.set(a.sub, a);
  });
  return { clients: clientList, accounts: accountMap };
}

function findAccountByLogin(accounts, { login, email }) {
  if (login) {
    if (accounts.has(login)) return accounts.get(login);
    for (const a of accounts.values()) if (a.email === login) return a;
  }
  if (email) {
    for (const a of accounts.values()) if (a.email === email) return a;
  }
  return undefined;
}

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (ch) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[ch]);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks).toString('utf8');
  const type = String(req.headers['content-type'] || '');
  if (type.startsWith('application/json')) {
    const obj = body ? JSON.parse(body) : {};
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, String(v)]));
  }
  return Object.fromEntries(new URLSearchParams(body));
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function loginPage(uid, details, error) {
  const { params } = details;
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Test OIDC login</title></head>
<body>
<h1>Sign in to ${escapeHtml(params.client_id)}</h1>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
  <label>sub or email <input name="login" autofocus></label>
  <button type="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${escapeHtml(uid)}/abort">
  <button type="submit">Cancel</button>
</form>
<p>Requested scope: ${escapeHtml(params.scope || '')}</p>
</body></html>
`;
}

// Grants everything the interaction still asks for (used when the consent prompt is reached).
async function grantFromPrompt(provider, details) {
  const { prompt: { details: missing = {} }, params, session } = details;
  let grant;
  if (details.grantId) {
    grant = await provider.Grant.find(details.grantId);
  }
  if (!grant) {
    grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  }
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  return grant.save();
}

async function handleInteraction(provider, accounts, req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const m = /^\/interaction\/([^/]+)(?:\/(login|abort|confirm))?\/?$/.exec(url.pathname);
  if (!m) return send(res, 404, 'not found\n', 'text/plain; charset=utf-8');
  const [, uid, action] = m;

  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    return send(res, 400, `interaction not found or expired: ${err.message}\n`, 'text/plain; charset=utf-8');
  }
  if (details.uid !== uid) {
    return send(res, 400, 'interaction uid does not match its cookie\n', 'text/plain; charset=utf-8');
  }

  if (req.method === 'GET' && !action) {
    if (details.prompt.name === 'login') return send(res, 200, loginPage(uid, details));
    // Consent is granted automatically: nothing for a person (or a test) to click.
    const grantId = await grantFromPrompt(provider, details);
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  if (req.method !== 'POST' || !action) {
    return send(res, 405, 'method not allowed\n', 'text/plain; charset=utf-8');
  }

  const form = await readForm(req);
  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: form.error || 'access_denied',
      error_description: form.error_description || 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }
  if (action === 'confirm') {
    const grantId = await grantFromPrompt(provider, details);
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  // action === 'login'
  const account = findAccountByLogin(accounts, form);
  if (!account) {
    const who = form.login || form.email || '';
    return send(res, 401, loginPage(uid, details, `unknown account ${JSON.stringify(who)}`));
  }
  // Log in and grant every requested OIDC scope and claim in the same step, so the client
  // goes straight back to its redirect_uri (loadExistingGrant below would do it as well).
  const grant = new provider.Grant({ accountId: account.sub, clientId: details.params.client_id });
  grant.addOIDCScope(String(details.params.scope || 'openid'));
  const claims = requestedClaims(details.params.claims);
  if (claims.length) grant.addOIDCClaims(claims);
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, {
    login: { accountId: account.sub, remember: form.remember !== 'false' },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

function requestedClaims(claimsParam) {
  if (!claimsParam) return [];
  try {
    const parsed = typeof claimsParam === 'string' ? JSON.parse(claimsParam) : claimsParam;
    return [...new Set([
      ...Object.keys(parsed.id_token || {}),
      ...Object.keys(parsed.userinfo || {}),
    ])];
  } catch {
    return [];
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const portRaw = args.port ?? process.env.OIDC_PORT ?? '0';
  if (!/^\d+$/.test(portRaw) || Number(portRaw) > 65535) die(`bad port ${JSON.stringify(portRaw)}`);
  const configFile = path.resolve(args.config ?? process.env.OIDC_CONFIG ?? path.join(HERE, 'example-config.json'));
  const { clients, accounts } = loadConfig(configFile);

  const { default: Provider } = await import('oidc-provider');

  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(portRaw), '127.0.0.1', resolve);
  }).catch((err) => die(`cannot listen on 127.0.0.1:${portRaw}: ${err.message}`));
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [signingKey()] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    scopes: SCOPES,
    claims: CLAIMS,
    // Put scope-requested claims (email, email_verified, name) in the id_token too.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    // First-party test clients: consent is implied. An existing grant is extended with
    // whatever this request asks for; a new one is created when there is none.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if (grant && grant.accountId !== ctx.oidc.session.accountId) grant = undefined;
      if (!grant) {
        grant = new ctx.oidc.provider.Grant({
          clientId: ctx.oidc.client.clientId,
          accountId: ctx.oidc.session.accountId,
        });
      }
      grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' ') || 'openid');
      const claims = [...ctx.oidc.requestParamClaims];
      if (claims.length) grant.addOIDCClaims(claims);
      await grant.save();
      return grant;
    },
    async findAccount(_ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          const out = { sub };
          for (const field of ACCOUNT_FIELDS) {
            if (account[field] !== undefined) out[field] = account[field];
          }
          return out;
        },
      };
    },
    renderError(ctx, out, _error) {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>oops</title></head><body>
<h1>oops! something went wrong</h1><pre id="error">${escapeHtml(JSON.stringify(out, null, 2))}</pre></body></html>\n`;
    },
    ttl: {
      // Keep defaults but make them explicit where tests may care.
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      IdToken: 3600,
      AccessToken: 3600,
    },
  });
  provider.on('server_error', (_ctx, err) => process.stderr.write(`server_error: ${err.stack || err}\n`));

  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.url.startsWith('/interaction/')) {
      handleInteraction(provider, accounts, req, res).catch((err) => {
        process.stderr.write(`interaction error: ${err.stack || err}\n`);
        if (!res.headersSent) send(res, 500, `interaction error: ${err.message}\n`, 'text/plain; charset=utf-8');
        else res.end();
      });
      return;
    }
    callback(req, res);
  });
  server.removeAllListeners('error');
  server.on('error', (err) => process.stderr.write(`server error: ${err.stack || err}\n`));

  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`oidc test provider: ${signal}, shutting down\n`);
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  process.stderr.write(`oidc test provider: config ${configFile}, ${clients.length} client(s), ${accounts.size} account(s)\n`);
  process.stdout.write(`READY ${issuer}\n`);
}

main().catch((err) => die(err.stack || String(err)));
