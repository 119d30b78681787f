// The real parts the console's end-to-end tests run against: `qvdc serve` (the demo with its
// qx-node agents on libvirt test-driver hosts, or a server with authentication), each in a
// fresh folder, stopped with SIGTERM (SIGKILL after 10 s) when the tests end.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (tests/e2e/CMakeLists.txt sets it for ctest)`);
  return v;
}

/** Polls `check` until it answers true, failing after `ms` with `what`; an error `check`
 * throws ends the wait at once. No sleep as a guess. */
export async function until(what, check, ms = 30000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

export async function startServer({ demo, password }) {
  const dir = mkdtempSync(join(tmpdir(), 'qx-console-e2e-'));
  const args = ['serve', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--console-dir', need('QX_CONSOLE_DIR')];
  if (demo) args.push('--demo', '--qx-node', need('QX_NODE'));
  if (password) {
    writeFileSync(join(dir, 'admin-password'), `${password}\n`);
    args.push('--admin-password-file', join(dir, 'admin-password'), '--rate-limit', '0', '--anonymous-rate-limit', '0');
  }
  const child = spawn(need('QVDC'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((r) => child.on('exit', (code, sig) => r({ code, sig })));
  let base = '';
  await until(
    `qvdc serve to listen${demo ? ' and the demo to be set up' : ''}`,
    () => {
      if (child.exitCode !== null) throw new Error(`qvdc serve exited ${child.exitCode}: ${err.slice(-2000)}`);
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(out);
      if (m) base = `http://${m[1]}`;
      return base !== '' && (!demo || /\n\s*open\s/.test(out));
    },
    120000,
  );
  return {
    base,
    dir,
    log: () => `stdout:\n${out.slice(-3000)}\nstderr:\n${err.slice(-3000)}`,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An API call the test makes itself (set-up, or a change another user makes). */
export async function api(base, method, path, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

export function axeSource() {
  return readFileSync(new URL('../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
}
