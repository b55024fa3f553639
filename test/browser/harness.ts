/// <reference lib="dom" />
/**
 * Real-browser checks: Debian's Chromium driven by playwright-core, every journey with
 * JavaScript turned off, at desktop and phone width. Each page a journey reaches is
 *   - saved as a screenshot under test-output/browser/screenshots/<width>/,
 *   - validated with html-validate (the exact HTML the server sent, config in .htmlvalidate.json),
 *   - checked with axe-core in light and dark colour schemes (the dark rendering is saved too),
 *   - listed in test-output/browser/pages-checked.txt.
 *
 * axe needs JavaScript, and these pages run none, so axe runs in a second, JavaScript-enabled
 * context that is served the very same HTML at the same URL (the request is answered from what
 * the JavaScript-off browser received; stylesheets and images come from the real server). That
 * way pages reached by a POST (an error re-render, say) are checked exactly as they were shown.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import path from 'node:path';
import { FileSystemConfigLoader, HtmlValidate } from 'html-validate';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Page,
  type Response,
} from 'playwright-core';
import { ROOT } from '../../src/dirs.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { rememberSecret } from '../helpers/secrets.ts';

export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 360, height: 740 },
} as const;
export type ViewportName = keyof typeof VIEWPORTS;

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const OUTPUT_DIR = process.env.KEYGATE_TEST_OUTPUT_DIR ?? path.join(ROOT, 'test-output', 'browser');
const SCREENSHOT_DIR = path.join(OUTPUT_DIR, 'screenshots');
const AXE_SOURCE = fs.readFileSync(path.join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
const validator = new HtmlValidate(new FileSystemConfigLoader());

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [...LAUNCH_ARGS, ...extraArgs],
  });
}

/**
 * A Chromium profile kept in `userDataDir`, JavaScript off, as a person's own browser: its
 * cookies are written to disk and survive closing it and launching it again with the same folder.
 * (A persistent context has no Browser of its own: checks run axe in the ordinary one.)
 */
export async function launchPersistentProfile(
  userDataDir: string,
  site: Site,
  viewport: ViewportName,
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: LAUNCH_ARGS,
    javaScriptEnabled: false,
    viewport: VIEWPORTS[viewport],
    baseURL: site.url,
  });
}

/** The real app on a real database, listening on a free port for the browser. */
export interface Site {
  t: TestApp;
  url: string;
  close(): Promise<void>;
}

export async function startSite(env: Record<string, string> = {}): Promise<Site> {
  const t = await createTestApp(env);
  const server: Server = await new Promise((resolve) => {
    const listening = t.app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return {
    t,
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await t.close();
    },
  };
}

/** Runs `journey` against a site of its own (see startSite), and closes the site after it. */
export async function withSite(
  env: Record<string, string>,
  journey: (site: Site) => Promise<void>,
): Promise<void> {
  const site = await startSite(env);
  try {
    await journey(site);
  } finally {
    await site.close();
  }
}

/** What was checked, for the summary at the end of a file. */
export const checkedPages: {
  journey: string;
  viewport: ViewportName;
  name: string;
  url: string;
}[] = [];

export interface Visitor {
  page: Page;
  context: BrowserContext;
  viewport: ViewportName;
  /** Opens a path on the site and checks the page. */
  visit(pathname: string, name: string): Promise<void>;
  /** Fills the labelled fields, presses the button and checks the page that comes back. */
  submit(fields: Record<string, string>, button: string, name: string): Promise<void>;
  /** Fills in the sign-in form on the current page and presses "Sign in". */
  signIn(account: { email: string; password: string }, name: string): Promise<void>;
  /** Follows a link by its text and checks the page. */
  follow(link: string, name: string): Promise<void>;
  /** Checks the page as it is now (screenshot, HTML validation, axe). */
  check(name: string): Promise<void>;
  /** The status of the last page. */
  status(): number;
  /** The path (and query) of the last page. */
  path(): string;
  close(): Promise<void>;
}

/**
 * A person with JavaScript turned off. `journey` names the screenshots. Every navigation's
 * document is kept, so checks look at the HTML the server sent, not at a re-serialised DOM.
 * `options.context`: a context of the caller's (a persistent profile) instead of a new one;
 * `browser` still runs the axe checks.
 */
export async function openVisitor(
  browser: Browser,
  site: Site,
  viewport: ViewportName,
  journey: string,
  options: { context?: BrowserContext } = {},
): Promise<Visitor> {
  const context =
    options.context ??
    (await browser.newContext({
      javaScriptEnabled: false,
      viewport: VIEWPORTS[viewport],
      baseURL: site.url,
    }));
  const page = options.context
    ? (context.pages()[0] ?? (await context.newPage()))
    : await context.newPage();
  let last: { response: Response; html: Promise<string> } | undefined;
  page.on('response', (response) => {
    const request = response.request();
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
      if (response.status() >= 300 && response.status() < 400) return;
      const html = response.text();
      // A page nobody checks may close before its body is read: that is not an error.
      html.catch(() => undefined);
      last = { response, html };
    }
  });
  let count = 0;
  // Anything that went wrong below the page itself: a console error, a sub-request (stylesheet,
  // image, icon) that failed or was answered with an error. Every check asserts there was none.
  let problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // Chromium reports a page answered with a 4xx (a form's error re-render) as a failed
    // resource: that status is the page's own and intended, not a broken sub-resource.
    const own =
      /^Failed to load resource: the server responded with a status of 4\d\d/.test(
        message.text(),
      ) && message.location().url === page.url();
    if (!own) problems.push(`console error: ${message.text()} (${message.location().url})`);
  });
  page.on('requestfailed', (request) => {
    const error = request.failure()?.errorText ?? '?';
    // Cancelled because the person moved on (the icon of a page left at once): not a failure.
    if (error === 'net::ERR_ABORTED') return;
    problems.push(`failed request: ${request.url()} (${error})`);
  });
  page.on('response', (response) => {
    const request = response.request();
    if (!request.isNavigationRequest() && response.status() >= 400)
      problems.push(`sub-request ${response.status()}: ${response.url()}`);
  });

  const visitor: Visitor = {
    page,
    context,
    viewport,
    async visit(pathname, name) {
      await page.goto(pathname);
      await visitor.check(name);
    },
    async submit(fields, button, name) {
      for (const [label, value] of Object.entries(fields)) {
        await page.getByLabel(label, { exact: true }).fill(value);
        if (/password|code/i.test(label)) rememberSecret('typed in a browser', value);
      }
      await Promise.all([
        page.waitForEvent('load'),
        page.getByRole('button', { name: button, exact: true }).click(),
      ]);
      await visitor.check(name);
    },
    signIn(account, name) {
      return visitor.submit(
        { 'Email address': account.email, Password: account.password },
        'Sign in',
        name,
      );
    },
    async follow(link, name) {
      await Promise.all([
        page.waitForEvent('load'),
        page.getByRole('link', { name: link, exact: true }).first().click(),
      ]);
      await visitor.check(name);
    },
    async check(name) {
      assert.ok(last, `${name}: no page was loaded`);
      const html = await last.html;
      const url = page.url();
      count += 1;
      const label = `${journey} › ${name} (${viewport})`;
      checkedPages.push({ journey, viewport, name, url: new URL(url).pathname });

      const file = path.join(
        SCREENSHOT_DIR,
        viewport,
        `${journey}-${String(count).padStart(2, '0')}-${name.replace(/[^a-z0-9]+/gi, '-')}.png`,
      );
      fs.mkdirSync(path.dirname(file), { recursive: true });
      await page.screenshot({ path: file, fullPage: true });

      fs.appendFileSync(
        path.join(OUTPUT_DIR, 'pages-checked.txt'),
        `${viewport}\t${last.response.status()}\t${new URL(url).pathname}\t${journey} › ${name}\n`,
      );

      assert.doesNotMatch(html, /<script/i, `${label}: the page carries a script`);
      const seen = problems;
      problems = [];
      assert.deepEqual(seen, [], `${label}: console errors or failed sub-requests`);
      checkDestructiveButtons(label, new URL(url).pathname, html);
      await validateHtml(label, html);
      await runAxe(
        browser,
        viewport,
        url,
        html,
        label,
        file.replace(`${viewport}/`, `${viewport}-dark/`),
      );
    },
    status: () => last?.response.status() ?? 0,
    path: () => {
      const url = new URL(page.url());
      return url.pathname + url.search;
    },
    close: () => context.close(),
  };
  return visitor;
}

/** Confirmation pages of actions that take something away submit with the danger style. */
const DESTRUCTIVE_PAGE =
  /^\/admin\/users\/\d+\/(deactivate|remove-admin|reset-2fa|set-password|end-sessions)$/;
export const destructivePagesChecked: string[] = [];
function checkDestructiveButtons(label: string, pathname: string, html: string) {
  if (!DESTRUCTIVE_PAGE.test(pathname)) return;
  const buttons = [...html.matchAll(/<button type="submit"[^>]*>/g)].map((m) => m[0]);
  const confirm = buttons.filter((button) => !/link-button/.test(button));
  if (confirm.length === 0) return; // refused up front: no button is offered
  destructivePagesChecked.push(pathname);
  for (const button of confirm)
    assert.match(button, /class="danger"/, `${label}: the confirm button is not danger-styled`);
}

/**
 * Printed on paper the page is black on white, whatever the screen's colour scheme: the body and
 * every card, in print media with a dark scheme.
 */
async function checkPrintsLight(page: Page, label: string) {
  await page.emulateMedia({ media: 'print', colorScheme: 'dark' });
  const dark = await page.evaluate(() =>
    [document.body, ...document.querySelectorAll('.card')]
      .map((element) => ({
        what:
          element === document.body
            ? 'body'
            : `.card ${element.querySelector('h1,h2')?.textContent ?? ''}`,
        background: getComputedStyle(element).backgroundColor,
        color: getComputedStyle(element).color,
      }))
      .filter(
        (style) =>
          !/^rgba?\(255, 255, 255/.test(style.background) &&
          style.background !== 'rgba(0, 0, 0, 0)',
      ),
  );
  await page.emulateMedia({ media: 'screen', colorScheme: 'dark' });
  assert.deepEqual(dark, [], `${label}: prints dark`);
}

async function validateHtml(label: string, html: string) {
  const report = await validator.validateString(html, path.join(ROOT, 'views', 'page.html'));
  const problems = report.results.flatMap((result) =>
    result.messages.map(
      (message) =>
        `  ${message.ruleId} at ${message.line}:${message.column}: ${message.message}\n    ${
          html.split('\n')[message.line - 1]?.trim().slice(0, 160) ?? ''
        }`,
    ),
  );
  assert.equal(problems.length, 0, `${label}: HTML is not valid\n${problems.join('\n')}`);
}

interface AxeResult {
  violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[];
}

/** axe-core on the same HTML, in a JavaScript-enabled page, light and dark. */
async function runAxe(
  browser: Browser,
  viewport: ViewportName,
  url: string,
  html: string,
  label: string,
  darkScreenshot: string,
) {
  for (const colorScheme of ['light', 'dark'] as const) {
    const context = await browser.newContext({ viewport: VIEWPORTS[viewport], colorScheme });
    try {
      const page = await context.newPage();
      await page.route(url, (route) =>
        route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }),
      );
      await page.goto(url);
      if (colorScheme === 'dark') {
        fs.mkdirSync(path.dirname(darkScreenshot), { recursive: true });
        await page.screenshot({ path: darkScreenshot, fullPage: true });
        await checkPrintsLight(page, label);
      }
      await page.evaluate(AXE_SOURCE);
      // Only colours change between the schemes, so the dark pass runs the colour rules alone.
      const options =
        colorScheme === 'dark' ? { runOnly: ['color-contrast', 'link-in-text-block'] } : {};
      const result = await page.evaluate<AxeResult, object>(
        (runOptions) =>
          (
            window as unknown as {
              axe: { run(context: Document, options: object): Promise<AxeResult> };
            }
          ).axe.run(document, runOptions),
        options,
      );
      const violations = result.violations.map(
        (violation) =>
          `  ${violation.id} (${violation.impact}): ${violation.help}\n    ${violation.nodes
            .map((node) => node.target.join(' '))
            .slice(0, 5)
            .join('\n    ')}`,
      );
      assert.equal(
        violations.length,
        0,
        `${label}, ${colorScheme} scheme: accessibility violations\n${violations.join('\n')}`,
      );
    } finally {
      await context.close();
    }
  }
}
