// Drives headless Chromium (playwright-core, the system's /usr/bin/chromium: playwright-core never
// downloads a browser) through the demo (`cargo run --example demo`) signed in by a real OpenID
// Provider (oidc_login_provider.mjs), the way a person would:
//
//   open /admin -> 303 /auth/login?return_to=/admin -> the OP's sign-in form
//   -> sign in WITHOUT MFA -> back on /admin -> RequireMfa refuses it: a page says why
//      ("Confirm it's you") with a button to the provider
//   -> the button: /auth/login?step_up=1&return_to=/admin -> the OP asks again: max_age=0
//   -> sign in WITH MFA -> /admin answers 200 with the admin page
//   -> /auth/session: authenticated, amr has "mfa", no token in sight
//   -> home: "Sign out" (a POST form) -> the OP's end_session (its confirmation page submits
//      itself) -> back on the demo's home, signed out ("Sign in"; /auth/session false)
//   -> /admin again: the OP asks for a sign-in (its session ended too).
// Screenshots at phone width (390x844) of the home page (signed in and out), the step-up page
// and the admin page.
//
// Usage: node browser_walk.mjs <demo base URL> <OP issuer> [screenshot dir]
//   CHROMIUM (env) overrides the browser path (default /usr/bin/chromium).
// stdout: exactly one JSON line: {"ok": true, ...what was seen} or {"ok": false, "step",
// "error", "url", "text", "navigations"}; the exit status is 0 only when ok.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [demoArg, issuerArg, shotsArg] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function finish(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.ok ? 0 : 1;
}

if (!demoArg || !issuerArg) {
  finish({ ok: false, step: 'arguments', error: 'usage: node browser_walk.mjs <demo URL> <OP issuer> [screenshot dir]' });
  process.exit();
}
if (!fs.existsSync(CHROMIUM)) {
  finish({ ok: false, step: 'setup', error: `no Chromium at ${CHROMIUM}: apt-get install -y chromium` });
  process.exit();
}
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  finish({ ok: false, step: 'setup', error: `playwright-core is missing (${e.message}): run npm ci --prefix tests/interop` });
  process.exit();
}

const demo = new URL(demoArg);
const op = new URL(issuerArg);
const shots = shotsArg || fs.mkdtempSync(path.join(os.tmpdir(), 'browser-walk-'));
fs.mkdirSync(shots, { recursive: true });

const onDemo = (url, pathname) => url.origin === demo.origin && (pathname === undefined || url.pathname === pathname);
const onOpForm = (url) => url.origin === op.origin && url.pathname.startsWith('/interaction/');

// Every main-frame document response, redirects included, in order.
const navigations = [];
let step = 'launch';
const seen = {};

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// The 303s the browser followed since `from` (an index in `navigations`).
function redirectsSince(from) {
  return navigations.slice(from).filter((n) => n.status === 303);
}

async function sessionJson(page) {
  return page.evaluate(async () => {
    const r = await fetch('/auth/session', { headers: { accept: 'application/json' } });
    return { status: r.status, cacheControl: r.headers.get('cache-control'), body: await r.json() };
  });
}

// No token of any kind in what the browser may read.
function assertNoToken(body) {
  const text = JSON.stringify(body);
  for (const key of ['access_token', 'accessToken', 'refresh_token', 'refreshToken', 'id_token', 'idToken']) {
    check(!text.includes(key), `/auth/session exposes ${key}`);
  }
  check(!/eyJ[\w-]+\.[\w-]+\./.test(text), '/auth/session exposes something shaped like a JWT');
  check(!text.includes('Fe26.'), '/auth/session exposes a sealed cookie');
}

async function buttons(page) {
  const signIn = await page.getByRole('link', { name: 'Sign in', exact: true }).count();
  const signOut = await page.getByRole('button', { name: 'Sign out', exact: true }).count();
  return { signIn, signOut };
}

// Clicks and waits until the browser, having left this page, settles on a URL matching `until`.
async function submitAndWait(page, locator, until) {
  const mark = navigations.length;
  await Promise.all([
    page.waitForURL((url) => navigations.length > mark && until(url), { waitUntil: 'load' }),
    locator.click(),
  ]);
}

async function shot(page, name) {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  seen.screenshots = { ...(seen.screenshots ?? {}), [name]: file };
}

// Content wider than the phone's viewport means sideways scrolling: a layout bug.
async function fitsWidth(page, name) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  check(scroll <= client, `${name} is ${scroll}px wide in a ${client}px viewport`);
}

let browser;
let page;
try {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('response', (response) => {
    const request = response.request();
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
      navigations.push({
        method: request.method(),
        url: response.url(),
        status: response.status(),
        location: response.headers().location ?? null,
      });
    }
  });

  step = 'open /admin signed out';
  await page.goto(new URL('/admin', demo).href);
  check(onOpForm(new URL(page.url())), `expected the OP's sign-in form, got ${page.url()}`);
  const first = redirectsSince(0);
  check(first[0]?.url === new URL('/admin', demo).href, `/admin did not redirect: ${JSON.stringify(first[0])}`);
  check(first[0].location === '/auth/login?return_to=%2Fadmin', `/admin sent the browser to ${first[0].location}`);
  check(first[1]?.location?.startsWith(`${op.origin}/auth?`), `/auth/login did not go to the OP: ${first[1]?.location}`);
  const firstForm = page.url();
  seen.signed_out_admin = first.map((r) => r.location);

  step = 'sign in without MFA';
  const mfa = page.getByLabel('Use my second factor (MFA)');
  await mfa.uncheck();
  let mark = navigations.length;
  // /admin refuses the password-only session with a page that says why, not a silent redirect.
  await submitAndWait(page, page.getByRole('button', { name: 'Sign in', exact: true }),
    (url) => onDemo(url, '/admin'));
  const back = redirectsSince(mark);
  const landed = back.find((r) => onDemo(new URL(r.url), '/auth/callback'));
  check(landed?.location === '/admin', `the callback did not return to /admin: ${JSON.stringify(landed)}`);
  const refused = navigations[navigations.length - 1];
  check(onDemo(new URL(refused.url), '/admin') && refused.status === 403,
    `/admin answered the password-only session with ${JSON.stringify(refused)}`);
  await page.getByRole('heading', { name: "Confirm it's you" }).waitFor();
  const says = await page.locator('.notice').innerText();
  check(says.includes('needs a recent multi-factor sign-in'), `the step-up page says: ${says}`);
  const proceed = page.getByRole('link', { name: `Continue to ${issuerArg}`, exact: true });
  const href = await proceed.getAttribute('href');
  check(href === '/auth/login?step_up=1&return_to=%2Fadmin', `the step-up button goes to ${href}`);
  await fitsWidth(page, 'the step-up page');
  await shot(page, 'step-up');
  seen.step_up_page = { status: refused.status, says, href };

  step = 'continue to the provider';
  mark = navigations.length;
  await submitAndWait(page, proceed, (url) => onOpForm(url));
  const authorize = redirectsSince(mark).find((r) => onDemo(new URL(r.url), '/auth/login'));
  check(authorize, `the button did not go through /auth/login: ${JSON.stringify(navigations.slice(mark))}`);
  const asked = new URL(authorize.location);
  check(asked.searchParams.get('max_age') === '0', `the step-up asked the OP for max_age=${asked.searchParams.get('max_age')}`);
  seen.step_up = { admin: href, max_age: asked.searchParams.get('max_age') };

  step = 'step up with MFA';
  await page.getByLabel('Use my second factor (MFA)').check();
  mark = navigations.length;
  await submitAndWait(page, page.getByRole('button', { name: 'Sign in', exact: true }),
    (url) => onDemo(url, '/admin'));
  const adminDoc = navigations[navigations.length - 1];
  check(adminDoc.status === 200, `/admin answered ${adminDoc.status} after the step-up`);
  await page.getByRole('heading', { name: 'Admin area' }).waitFor();
  check(await page.getByRole('link', { name: /Back to the home page/ }).count() === 1, 'the admin page has no way back');
  seen.admin = { status: adminDoc.status, heading: await page.locator('h1').innerText() };
  await fitsWidth(page, 'the admin page');
  await shot(page, 'admin');

  step = 'the session after the step-up';
  const session = await sessionJson(page);
  check(session.status === 200 && session.body.authenticated === true, `/auth/session: ${JSON.stringify(session)}`);
  check(Array.isArray(session.body.amr) && session.body.amr.includes('mfa'), `amr: ${JSON.stringify(session.body.amr)}`);
  assertNoToken(session.body);
  const cookies = await context.cookies(demo.href);
  const sessionCookie = cookies.find((c) => c.name === 'session');
  check(sessionCookie, `no session cookie: ${cookies.map((c) => c.name).join(', ')}`);
  check(sessionCookie.httpOnly && sessionCookie.sameSite === 'Lax', 'the session cookie is not HttpOnly; SameSite=Lax');
  check(!cookies.some((c) => c.name.includes('session-login')), 'a sign-in attempt cookie outlived the callback');
  seen.session = {
    authenticated: session.body.authenticated,
    sub: session.body.sub,
    amr: session.body.amr,
    acr: session.body.acr,
    cache_control: session.cacheControl,
    cookie_bytes: sessionCookie.name.length + 1 + sessionCookie.value.length,
  };

  step = 'home, signed in';
  await page.goto(new URL('/', demo).href);
  const signedIn = await buttons(page);
  check(signedIn.signOut === 1 && signedIn.signIn === 0, `home signed in shows ${JSON.stringify(signedIn)}`);
  await fitsWidth(page, 'the home page (signed in)');
  await shot(page, 'home-signed-in');
  seen.home_signed_in = signedIn;

  step = 'sign out';
  mark = navigations.length;
  await submitAndWait(page, page.getByRole('button', { name: 'Sign out', exact: true }),
    (url) => onDemo(url, '/'));
  const out = navigations.slice(mark);
  check(out[0]?.method === 'POST' && onDemo(new URL(out[0].url), '/auth/logout'), `sign-out was ${JSON.stringify(out[0])}`);
  const endSession = out.find((n) => new URL(n.url).origin === op.origin && new URL(n.url).pathname === '/session/end');
  check(endSession, `the browser never reached the OP's end_session: ${JSON.stringify(out)}`);
  check(new URL(endSession.url).searchParams.get('id_token_hint'), 'end_session without id_token_hint');
  // The OP's confirmation page submitted itself, and the OP sent the browser back home.
  const confirm = out.find((n) => n.method === 'POST' && n.url === `${op.origin}/session/end/confirm`);
  check(confirm?.location === new URL('/', demo).href, `end_session confirmation: ${JSON.stringify(confirm)}`);
  const signedOut = await buttons(page);
  check(signedOut.signIn === 1 && signedOut.signOut === 0, `home signed out shows ${JSON.stringify(signedOut)}`);
  const after = await sessionJson(page);
  check(after.body.authenticated === false, `/auth/session after sign-out: ${JSON.stringify(after.body)}`);
  check(!(await context.cookies(demo.href)).some((c) => c.name === 'session'), 'the session cookie survived sign-out');
  await fitsWidth(page, 'the home page (signed out)');
  await shot(page, 'home-signed-out');
  seen.signed_out = { home: signedOut, session: after.body, via: out.map((n) => `${n.status} ${new URL(n.url).pathname}`) };

  step = 'the provider session ended too';
  await page.goto(new URL('/admin', demo).href);
  check(onOpForm(new URL(page.url())), `after sign-out /admin ended at ${page.url()}, not at the OP's form`);

  finish({ ok: true, ...seen, shots });
} catch (e) {
  let text = '';
  let url = '';
  try {
    url = page?.url() ?? '';
    text = (await page?.locator('body').innerText({ timeout: 2000 }))?.slice(0, 1500) ?? '';
    await page?.screenshot({ path: path.join(shots, 'failure.png'), fullPage: true });
  } catch {
    // the page itself may be gone
  }
  finish({ ok: false, step, error: String(e?.message ?? e).split('\n')[0], url, text, navigations, shots });
} finally {
  await browser?.close();
}
