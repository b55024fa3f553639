/**
 * Real reverse proxies for the gate's tests: nginx and Caddy from Debian, started as ordinary
 * processes on free loopback ports with configs rendered into a temporary folder from the very
 * templates the README's snippets are rendered from (proxy/*.template), an echo upstream that
 * prints the headers it received, and Keygate itself (the real app on a real database).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ROOT } from '../../src/dirs.ts';
import { createTestApp, type TestApp } from './app.ts';

export type ProxyKind = 'nginx' | 'caddy';

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function renderTemplate(file: string, values: Record<string, string>): string {
  const text = fs.readFileSync(path.join(ROOT, 'proxy', file), 'utf8');
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (_match, name: string) => {
    if (!(name in values)) throw new Error(`${file}: no value for {{${name}}}`);
    return values[name]!;
  });
}

export interface Running {
  port: number;
  close(): Promise<void>;
}

/** An upstream app that answers every request with the headers it received (JSON, or HTML). */
export async function startEcho(
  options: { signOutUrl?: (self: string) => string } = {},
): Promise<Running> {
  const server = http.createServer((req, res) => {
    const self = `${req.headers['x-forwarded-proto'] ?? 'http'}://${req.headers.host}${req.url}`;
    if (options.signOutUrl && (req.headers.accept ?? '').includes('text/html')) {
      const who = String(req.headers['remote-user'] ?? '');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!DOCTYPE html><html lang="en"><head><title>Echo app</title></head><body><h1>Echo app</h1>` +
          `<p id="who">${who.replace(/[<>&"]/g, '')}</p><p>${req.url?.replace(/[<>&"]/g, '')}</p>` +
          `<a href="${options.signOutUrl(self)}">Sign out</a></body></html>`,
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ echo: true, method: req.method, url: req.url, headers: req.headers }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Keygate on a port of its own, for the proxy to reach. */
export async function startKeygate(env: Record<string, string>): Promise<Running & { t: TestApp }> {
  const t = await createTestApp(env);
  const server = await new Promise<http.Server>((resolve) => {
    const listening = t.app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    t,
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await t.close();
    },
  };
}

/** Resolves once `child` listens on `port` (a proxy, Apache…); throws with its log if it exits. */
export async function waitForPort(
  port: number,
  child: ChildProcess,
  log: () => string,
): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${child.spawnfile} did not listen on ${port}: ${log()}`);
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface ProxyOptions {
  port: number;
  keygatePort: number;
  appPort: number;
  authHost: string;
  appHosts: string[];
  /** nginx only: terminate TLS with this certificate and key. */
  tls?: { cert: string; key: string };
  /** nginx only: more of the http {} block (the benchmark's static upstream). */
  extraHttp?: string;
}

export const PROXY_BINARIES: Record<ProxyKind, string> = {
  nginx: process.env.NGINX_PATH ?? '/usr/sbin/nginx',
  caddy: process.env.CADDY_PATH ?? '/usr/bin/caddy',
};

function nginxConfig(dir: string, options: ProxyOptions): string {
  const listen = options.tls
    ? `    listen 127.0.0.1:${options.port} ssl;\n    ssl_certificate ${options.tls.cert};\n    ssl_certificate_key ${options.tls.key};`
    : `    listen 127.0.0.1:${options.port};`;
  const snippet = renderTemplate('nginx.conf.template', {
    KEYGATE: `127.0.0.1:${options.keygatePort}`,
    LISTEN: listen,
    AUTH_HOST: options.authHost,
    APP_HOST: options.appHosts.join(' '),
    APP_UPSTREAM: `127.0.0.1:${options.appPort}`,
  });
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((name) => `    ${name}_temp_path ${dir}/${name};`)
    .join('\n');
  return `daemon off;\nmaster_process on;\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\nevents { worker_connections 256; }\nhttp {\n    access_log off;\n${temp}\n${snippet}\n${options.extraHttp ?? ''}\n}\n`;
}

function caddyConfig(options: ProxyOptions): string {
  const site = (host: string) => `http://${host}:${options.port}`;
  const snippet = renderTemplate('Caddyfile.template', {
    AUTH_SITE: site(options.authHost),
    APP_SITE: options.appHosts.map(site).join(', '),
    KEYGATE: `127.0.0.1:${options.keygatePort}`,
    APP_UPSTREAM: `127.0.0.1:${options.appPort}`,
  });
  return `{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n}\n\n${snippet}`;
}

/** Starts nginx or Caddy with the rendered config; resolves once it listens. */
export async function startProxy(
  kind: ProxyKind,
  options: ProxyOptions,
): Promise<Running & { log(): string }> {
  const binary = PROXY_BINARIES[kind];
  if (!fs.existsSync(binary))
    throw new Error(
      `${binary} is missing: .ci/run installs Debian's ${kind} (apt-get install ${kind})`,
    );
  const dir = fs.mkdtempSync(path.join(process.env.KEYGATE_TEST_TMP ?? os.tmpdir(), `${kind}-`));
  fs.chmodSync(dir, 0o755);
  let child: ChildProcess;
  if (kind === 'nginx') {
    fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConfig(dir, options));
    child = spawn(
      binary,
      ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } else {
    fs.writeFileSync(path.join(dir, 'Caddyfile'), caddyConfig(options));
    child = spawn(
      binary,
      ['run', '--config', path.join(dir, 'Caddyfile'), '--adapter', 'caddyfile'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
      },
    );
  }
  running.add(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const log = () => {
    const file = path.join(dir, 'error.log');
    return output + (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
  };
  await waitForPort(options.port, child, log);
  return {
    port: options.port,
    log,
    close: () =>
      new Promise((resolve) => {
        running.delete(child);
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

export interface ProxiedAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request through the proxy on 127.0.0.1, as a browser on `host` would send it. */
export function viaProxy(
  port: number,
  host: string,
  pathname: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<ProxiedAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: pathname,
        headers: {
          host: `${host}:${port}`,
          accept: 'text/html,application/xhtml+xml',
          ...options.headers,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
