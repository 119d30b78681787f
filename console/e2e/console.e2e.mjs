// The web console end to end: Debian's Chromium driven by playwright-core against a real
// `qvdc serve --demo` (three qx-node agents on libvirt test-driver hosts) and a real server
// with authentication. Every change the test waits for arrives over the console's watch: the
// page is never reloaded unless a step says so. Screenshots of every page go to
// $QX_E2E_ARTIFACTS.
//
//   QVDC=… QX_NODE=… QX_CONSOLE_DIR=… QX_E2E_ARTIFACTS=… node --test e2e/console.e2e.mjs

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { api, axeSource, need, startServer, until } from './servers.mjs';

const artifacts = need('QX_E2E_ARTIFACTS');
mkdirSync(artifacts, { recursive: true });

const launchArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let browser;
before(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: launchArgs });
});
after(async () => {
  await browser?.close();
});

/** A page that fails the test on any script error or dialog (an alert() is injected markup). */
async function openPage(context, url) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('dialog', async (d) => {
    page.errors.push(`a dialog opened: ${d.message()}`);
    await d.dismiss();
  });
  await page.goto(url);
  // Set once per document: still there after a step proves the page was not reloaded.
  await page.evaluate(() => (window.__sameDocument = true));
  return page;
}

async function notReloaded(page) {
  assert.equal(await page.evaluate(() => window.__sameDocument === true), true, 'the page was reloaded');
  assert.deepEqual(page.errors, []);
}

function nav(page, name) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

async function shot(page, name) {
  await page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
}

/** axe-core over the page: no serious or critical violation. */
async function accessible(page, what) {
  await page.evaluate(axeSource());
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  assert.deepEqual(found, [], `axe on ${what}`);
}

describe('with authentication', () => {
  let server;
  before(async () => {
    server = await startServer({ password: 'console-e2e-password-1' });
  });
  after(async () => {
    await server?.stop();
  });

  test('signs in through the form; a wrong password shows the API code; the token stays out of storage', async () => {
    const context = await browser.newContext();
    const page = await openPage(context, server.base + '/');
    await page.getByLabel('User').fill('admin');
    await page.getByLabel('Password').fill('wrong-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'LOGIN_FAILED' }).waitFor();
    await accessible(page, 'sign-in');
    await shot(page, 'sign-in');
    await page.getByLabel('Password').fill('console-e2e-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-count=hosts]').waitFor();
    await page.locator('[data-watch=live]').waitFor();
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    assert.equal(/eyJ/.test(stored), false, `a token in storage: ${stored}`);
    await notReloaded(page);
    await context.close();
  });
});

describe('on the demo datacenter', () => {
  let server;
  let ctx1;
  let page;
  before(async () => {
    server = await startServer({ demo: true });
    ctx1 = await browser.newContext();
    page = await openPage(ctx1, server.base + '/');
    await page.locator('[data-watch=live]').waitFor();
  });
  after(async () => {
    await ctx1?.close();
    await server?.stop();
  });

  test('the server sends the console with its caching and security headers', async () => {
    const index = await fetch(server.base + '/vms/anything');
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    assert.match(index.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.match(index.headers.get('content-security-policy'), /connect-src 'self'/);
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    const html = await index.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)[1];
    assert.equal(/<script>/.test(html), false, 'an inline script');
    const asset = await fetch(server.base + script, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(asset.headers.get('content-encoding'), 'gzip');
    assert.equal((await fetch(server.base + '/api/v1/nope')).status, 404);
  });

  test('the dashboard counts the demo', async () => {
    await page.locator('[data-count=hosts]', { hasText: '3' }).waitFor();
    await accessible(page, 'dashboard');
    await shot(page, 'dashboard');
  });

  test('a VM created through the wizard starts, and running arrives without a reload', async () => {
    await nav(page, 'VMs').click();
    await page.getByRole('button', { name: 'New VM' }).click();
    // The API's refusal is shown beside the field it names.
    await page.getByLabel('Name', { exact: true }).fill('bad/name');
    for (let i = 0; i < 3; i++) await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('#vm-name-error', { hasText: 'INVALID_ARGUMENT' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('e2e web');
    await page.getByLabel('Id (optional)').fill('e2e-web');
    await page.getByLabel('vCPUs').fill('2');
    await page.getByLabel('Memory (MiB)').fill('2048');
    await page.getByRole('button', { name: 'Next' }).click();
    // Disks and network: the demo's network; cloud-init user data.
    await page.getByRole('checkbox', { name: 'Demo network' }).check();
    await page.getByLabel('Cloud-init user data').fill('#cloud-config\nhostname: e2e-web\n');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Host').selectOption('demo-node-2');
    await accessible(page, 'the wizard');
    await shot(page, 'vm-wizard');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL('**/vms/e2e-web');
    await page.locator('[data-field=powerState]', { hasText: 'running' }).waitFor({ timeout: 30000 });
    await page.locator('[data-field=nodeId]', { hasText: 'demo-node-2' }).waitFor();
    await page.locator('tr[data-kind="vm.start"][data-state=succeeded]').first().waitFor();
    await notReloaded(page);
    await accessible(page, 'VM summary');
    await shot(page, 'vm-summary');
  });

  test('a second browser sees the first one stop the VM, live', async () => {
    const ctx2 = await browser.newContext();
    const other = await openPage(ctx2, server.base + '/vms/e2e-web');
    await other.locator('[data-field=powerState]', { hasText: 'running' }).waitFor();
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await other.locator('[data-field=powerState]', { hasText: 'stopped' }).waitFor({ timeout: 30000 });
    await notReloaded(other);
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await other.locator('[data-field=powerState]', { hasText: 'running' }).waitFor({ timeout: 30000 });
    await ctx2.close();
  });

  test('snapshots: take, revert, delete; a description with markup is shown as text', async () => {
    await page.getByRole('tab', { name: 'Snapshots' }).click();
    const hostile = '<img src=x onerror=alert(1)> \u202Egnp.exe';
    await page.getByLabel('Snapshot name').fill('before-upgrade');
    await page.getByLabel('Description').fill(hostile);
    await page.getByRole('button', { name: 'Take snapshot' }).click();
    const row = page.locator('tr[data-snapshot=before-upgrade]');
    await row.waitFor({ timeout: 30000 });
    assert.equal(await row.locator('td').nth(1).textContent(), hostile);
    assert.equal(await page.locator('img[src=x]').count(), 0);
    await accessible(page, 'VM snapshots');
    await shot(page, 'vm-snapshots');
    await page.getByRole('button', { name: 'Revert to before-upgrade' }).click();
    await page.getByRole('button', { name: 'Delete before-upgrade' }).click();
    await row.waitFor({ state: 'detached', timeout: 30000 });
    await page.getByRole('tab', { name: 'Events' }).click();
    await page.getByRole('table', { name: 'History' }).getByText('VmSnapshotDeleted').first().waitFor();
    await shot(page, 'vm-events');
    await notReloaded(page);
  });

  test('after a dropped watch the console resumes from its position: nothing missed', async () => {
    await nav(page, 'VMs').click();
    await page.locator('[data-vm=e2e-web]').waitFor();
    await page.evaluate(() => window.qvdcConsole.dropWatch());
    // Made by someone else while the console is away.
    const r = await api(server.base, 'POST', '/api/v1/vms', { id: 'while-away', spec: { name: 'while away', vcpus: 1, memoryMib: 256 } });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    await page.locator('[data-vm=while-away]').waitFor({ timeout: 30000 });
    await page.locator('[data-watch=live]').waitFor();
    await notReloaded(page);
  });

  test('the VM list filters, sorts and shows only the rows in view of many', async () => {
    const made = await Promise.all(
      Array.from({ length: 300 }, (_, i) => api(server.base, 'POST', '/api/v1/vms', { id: `bulk-${String(i).padStart(3, '0')}`, spec: { name: `bulk ${i}`, vcpus: 1, memoryMib: 64 } })),
    );
    assert.deepEqual([...new Set(made.map((m) => m.status))], [201]);
    await page.locator('.count', { hasText: '302 of 302' }).waitFor({ timeout: 30000 });
    const rendered = await page.locator('.grid-body [data-vm]').count();
    assert.ok(rendered < 100, `${rendered} rows rendered of 302`);
    await page.getByLabel('Filter').fill('while');
    await page.locator('.count', { hasText: '1 of 302' }).waitFor();
    await page.getByLabel('Filter').fill('');
    await accessible(page, 'VM list');
    await shot(page, 'vm-list');
    await notReloaded(page);
  });

  test('time travel shows a deleted VM as it was, marked as the past, and comes back to now', async () => {
    const then = await api(server.base, 'GET', '/api/v1/vms?limit=1');
    const position = then.headers.get('x-log-position');
    assert.match(position, /^\d+$/);
    // The list is virtualized: the filter brings the row into view whatever the list's length.
    await page.getByLabel('Filter').fill('while');
    await page.locator('[data-vm=while-away]').waitFor();
    assert.equal((await api(server.base, 'DELETE', '/api/v1/vms/while-away')).status, 200);
    await page.locator('[data-vm=while-away]').waitFor({ state: 'detached', timeout: 30000 });
    await page.locator('.count', { hasText: '0 of 301' }).waitFor();
    await page.getByLabel('Show the datacenter as it was at').fill(position);
    await page.getByRole('button', { name: 'Travel' }).click();
    await page.locator(`[data-past="${position}"]`).waitFor();
    await page.locator('[data-vm=while-away]').waitFor({ timeout: 30000 });
    assert.equal(await page.getByRole('button', { name: 'New VM' }).isDisabled(), true);
    await accessible(page, 'the past');
    await shot(page, 'time-travel');
    await page.locator('.count', { hasText: '1 of 302' }).waitFor();
    await page.getByRole('button', { name: 'Back to now' }).click();
    await page.locator('.count', { hasText: '0 of 301' }).waitFor({ timeout: 30000 });
    await page.getByLabel('Filter').fill('');
    assert.equal(await page.locator('[data-past]').count(), 0);
    await notReloaded(page);
  });

  test('maintenance: the task waits for the host to empty, live, and the host comes back', async () => {
    await nav(page, 'Hosts').click();
    await page.getByRole('link', { name: 'demo-node-2', exact: true }).click();
    const onHost = page.getByRole('list', { name: 'VMs on this host' });
    await onHost.locator('[data-vm=e2e-web]').waitFor();
    await page.getByRole('button', { name: /Enter maintenance/ }).click();
    // libvirt's test driver cannot migrate (p2p): the running VM keeps the host from
    // entering maintenance until the operator stops it, and the task shows it waiting.
    await page.locator('tr[data-kind="node.enter-maintenance"][data-state=running]').waitFor();
    await shot(page, 'host-entering-maintenance');
    await onHost.getByRole('link', { name: 'e2e web' }).click();
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.locator('[data-field=powerState]', { hasText: 'stopped' }).waitFor({ timeout: 30000 });
    await page.locator('tr[data-kind="node.enter-maintenance"][data-state=succeeded]').waitFor({ timeout: 30000 });
    await page.goBack();
    await page.locator('[data-field=state]', { hasText: 'maintenance' }).waitFor({ timeout: 30000 });
    assert.equal(await onHost.locator('[data-vm=e2e-web]').count(), 0);
    await accessible(page, 'host detail');
    await shot(page, 'host-maintenance');
    await page.getByRole('button', { name: /Exit maintenance/ }).click();
    await page.locator('[data-field=state]', { hasText: 'connected' }).waitFor({ timeout: 30000 });
    await notReloaded(page);
  });

  test('an ISO uploaded from the Images page shows its progress and arrives whole', async () => {
    const bytes = Buffer.alloc(6 * 1048576, 7);
    bytes.write('CD001', 0x8001); // an ISO 9660 volume descriptor's magic, where it belongs
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await nav(page, 'Images').click();
    await page.getByLabel('File').setInputFiles({ name: 'boot.iso', mimeType: 'application/x-iso9660-image', buffer: bytes });
    await page.getByLabel('Name', { exact: true }).fill('boot iso');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator(`[data-upload-sent="${bytes.length}"]`).waitFor({ timeout: 60000 });
    const row = page.locator('tr[data-state=ready]', { hasText: 'boot iso' });
    await row.waitFor({ timeout: 60000 });
    assert.equal(await row.getAttribute('data-sha256'), sha256);
    await page.locator('tr[data-kind="image.upload"][data-state=succeeded]').first().waitFor();
    await accessible(page, 'images');
    await shot(page, 'images');
    await notReloaded(page);
  });

  test('add a host: a refused registration shows its code and what to do', async () => {
    await nav(page, 'Hosts').click();
    await page.getByRole('button', { name: 'Add host' }).click();
    await page.getByLabel('Host URL').fill('http://127.0.0.1:1');
    await page.getByLabel('Registration token').fill('not-a-token');
    await page.getByRole('button', { name: 'Add host', exact: true }).last().click();
    await page.locator('[data-guidance=HOST_CONNECTION_FAILED]').waitFor({ timeout: 30000 });
    await page.getByRole('alert').filter({ hasText: 'HOST_CONNECTION_FAILED' }).waitFor();
    await accessible(page, 'add host');
    await shot(page, 'add-host-refused');
    await page.getByRole('button', { name: 'Cancel' }).click();
  });

  test('networks: the wizard shows a bad CIDR at its field, then creates; a rule added live', async () => {
    await nav(page, 'Networks').click();
    await page.getByRole('button', { name: 'New network' }).click();
    await page.getByLabel('Name', { exact: true }).fill('e2e-net');
    await page.getByLabel('VLAN id').fill('42');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.locator('#net-cidr').fill('10.9.9.1/24');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('#net-cidr-error', { hasText: 'INVALID_ARGUMENT' }).waitFor();
    await page.locator('#net-cidr').fill('10.9.9.0/24');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('table', { name: 'Networks' }).locator('tr', { hasText: 'e2e-net' }).waitFor({ timeout: 30000 });
    const sg = await api(server.base, 'POST', '/api/v1/security-groups', { id: 'web-sg', name: 'web servers' });
    assert.equal(sg.status, 201, JSON.stringify(sg.json));
    await page.locator('[data-group=web-sg]').waitFor({ timeout: 30000 });
    await page.getByLabel('Group', { exact: true }).selectOption('web-sg');
    await page.getByLabel('Port', { exact: true }).fill('443');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.locator('[data-group=web-sg] li', { hasText: 'tcp 443-443 from 0.0.0.0/0' }).waitFor({ timeout: 30000 });
    await accessible(page, 'networks');
    await shot(page, 'networks');
    await notReloaded(page);
  });

  test('every page passes axe and its actions are reachable by keyboard', async () => {
    for (const [name, link] of [
      ['hosts', 'Hosts'],
      ['clusters', 'Clusters'],
      ['storage', 'Storage'],
      ['alerts', 'Alerts'],
      ['events', 'Events'],
    ]) {
      await nav(page, link).click();
      await page.getByRole('heading', { level: 1 }).waitFor();
      await accessible(page, name);
      await shot(page, name);
    }
    // The cluster's DRS and HA, as their reactors know them.
    await nav(page, 'Clusters').click();
    await page.getByRole('link', { name: 'Demo cluster' }).click();
    await page.locator('[data-ha-node]').nth(2).waitFor();
    await page.locator('[data-drs-imbalance]').waitFor();
    await accessible(page, 'cluster detail');
    await shot(page, 'cluster-drs-ha');
    // From the top of the VM list, Tab reaches "New VM" and Enter opens the wizard.
    await page.goto(server.base + '/vms');
    await page.locator('[data-watch=live]').waitFor();
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.textContent === 'New VM');
    }
    assert.ok(reached, 'Tab never reached "New VM"');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'New virtual machine' }).waitFor();
  });
  test('a cluster made with the wizard takes a host another cluster gave up, live', async () => {
    // The step before navigated with goto(): this document is the one to keep from here.
    await page.evaluate(() => (window.__sameDocument = true));
    await nav(page, 'Clusters').click();
    await page.getByRole('button', { name: 'New cluster' }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('#cluster-name-error', { hasText: 'INVALID_ARGUMENT' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('e2e cluster');
    await page.getByLabel('Id (optional)').fill('e2e-cluster');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('DRS automation').selectOption('fully_automated');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL('**/clusters/e2e-cluster');
    await nav(page, 'Clusters').click();
    await page.getByRole('link', { name: 'Demo cluster' }).click();
    await page.getByRole('button', { name: 'Remove demo-node-3' }).click();
    await page.locator('[data-member=demo-node-3]').waitFor({ state: 'detached', timeout: 30000 });
    await nav(page, 'Clusters').click();
    await page.getByRole('link', { name: 'e2e cluster' }).click();
    await page.getByLabel('Host', { exact: true }).selectOption('demo-node-3');
    await page.getByRole('button', { name: 'Add to cluster' }).click();
    await page.locator('[data-member=demo-node-3]').waitFor({ timeout: 30000 });
    await accessible(page, 'a new cluster');
    await shot(page, 'cluster-created');
    await notReloaded(page);
  });
});
