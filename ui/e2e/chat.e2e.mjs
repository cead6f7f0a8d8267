// The web client in a real Chromium, against a running local stage:
//   CHAT_URL=http://127.0.0.1:8000 ARTIFACTS=../test-artifacts FIXTURES=../tests/browser/fixtures node e2e/chat.e2e.mjs
// tests/browser/test_web_client.py starts a fresh stage and runs this. Each step prints "ok" or
// fails the run with a screenshot of both windows.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const BASE = process.env.CHAT_URL ?? 'http://127.0.0.1:8000';
const ARTIFACTS = resolve(process.env.ARTIFACTS ?? 'test-artifacts');
const FIXTURES = resolve(process.env.FIXTURES ?? '../tests/browser/fixtures');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TIMEOUT = Number(process.env.STEP_TIMEOUT_MS ?? 20_000);
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

mkdirSync(ARTIFACTS, { recursive: true });
const started = Date.now();
const pages = {};

class Failed extends Error {}

function expect(condition, message) {
  if (!condition) {
    throw new Failed(message);
  }
}

async function shot(name, only = null) {
  for (const [who, page] of Object.entries(pages)) {
    if (!page.isClosed() && (!only || only.includes(who))) {
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${who}.png`), fullPage: true });
    }
  }
}

async function step(name, body) {
  const t0 = Date.now();
  try {
    await body();
  } catch (error) {
    console.log(`not ok - ${name}: ${error.message.split('\n')[0]}`);
    await shot('failed').catch(() => undefined);
    throw error;
  }
  console.log(`ok - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

async function signIn(page, user, password) {
  await page.goto(BASE);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByText(`Signed in as ${user}`).waitFor();
}

/** The message texts of the open room, in the order shown. */
function texts(page) {
  return page.locator('[data-testid=message] [data-testid=text]').allInnerTexts();
}

function message(page, text) {
  return page.locator('[data-testid=message]', { has: page.getByText(text, { exact: true }) });
}

/** Drag a file from the desktop onto the open room. */
async function dropFile(page, name, type, base64) {
  const dataTransfer = await page.evaluateHandle(
    ({ name, type, base64 }) => {
      const transfer = new DataTransfer();
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], name, { type }));
      return transfer;
    },
    { name, type, base64 },
  );
  await page.dispatchEvent('section.room', 'dragenter', { dataTransfer });
  await page.dispatchEvent('section.room', 'dragover', { dataTransfer });
  await page.dispatchEvent('section.room', 'drop', { dataTransfer });
}

function badge(page, room) {
  return page.locator(`button[data-room="${room}"] [data-testid=unread]`);
}

async function until(what, probe) {
  const deadline = Date.now() + TIMEOUT;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last === true) {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Failed(`timed out waiting until ${what} (last: ${JSON.stringify(last)})`);
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
try {
  const contexts = {};
  for (const who of ['newcomer', 'alice', 'bob']) {
    contexts[who] = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    contexts[who].setDefaultTimeout(TIMEOUT);
    pages[who] = await contexts[who].newPage();
    pages[who].on('pageerror', (error) => console.log(`  [${who} page error] ${error.message}`));
    pages[who].on('console', (m) => {
      if (m.type() === 'error' && !/status of 400|ERR_INTERNET_DISCONNECTED/.test(m.text())) {
        console.log(`  [${who} console] ${m.text().slice(0, 300)}`);
      }
    });
  }
  const { newcomer, alice, bob } = pages;
  const stamp = Date.now().toString(36);

  await step('a taken username and a wrong password are refused in words', async () => {
    await newcomer.goto(BASE);
    await newcomer.getByRole('button', { name: 'Create an account' }).click();
    await newcomer.getByLabel('Username').fill('alice');
    await newcomer.getByLabel('Password').fill('Some-password-1');
    await newcomer.getByRole('button', { name: 'Sign up' }).click();
    await newcomer.getByRole('alert').getByText('already taken').waitFor();
    await newcomer.getByRole('button', { name: 'Sign in', exact: true }).first().click();
    await newcomer.getByLabel('Username').fill('bob');
    await newcomer.getByLabel('Password').fill('not-his-password-1');
    await newcomer.getByRole('button', { name: 'Sign in', exact: true }).click();
    await newcomer.getByRole('alert').getByText('Wrong username or password').waitFor();
    await shot('00-sign-in-refused', ['newcomer']);
  });

  await step('a newcomer signs up and is signed in', async () => {
    await newcomer.getByRole('button', { name: 'Create an account' }).click();
    await newcomer.getByLabel('Username').fill(`erin${stamp}`);
    await newcomer.getByLabel('Password').fill('short');
    await newcomer.getByRole('button', { name: 'Sign up' }).click();
    await newcomer.getByRole('alert').getByText('too weak').waitFor();
    await newcomer.getByLabel('Password').fill('Erin-password-1');
    await newcomer.getByRole('button', { name: 'Sign up' }).click();
    await newcomer.getByText(`Signed in as erin${stamp}`).waitFor();
    await newcomer.getByText('No conversations yet.').waitFor();
    await shot('01-signed-up', ['newcomer']);
    await newcomer.close();
    delete pages.newcomer;
  });

  await step('alice and bob sign in', async () => {
    await Promise.all([signIn(alice, 'alice', 'Alice-password-1'), signIn(bob, 'bob', 'Bob-password-1')]);
  });

  await step('alice opens a DM with bob and her message is pending, then confirmed', async () => {
    await alice.getByLabel('Message someone').fill('bob');
    await alice.getByRole('button', { name: 'Start' }).click();
    await alice.getByTestId('room-title').getByText('bob').waitFor();
    await alice.getByLabel('Message', { exact: true }).fill('Hello Bob');
    await alice.getByLabel('Message', { exact: true }).press('Enter');
    await alice.locator('[data-testid=pending], [data-testid=message]').getByText('Hello Bob').first().waitFor();
    await message(alice, 'Hello Bob').waitFor();
    await until('the pending copy has gone', async () => (await alice.getByTestId('pending').count()) === 0);
    expect((await message(alice, 'Hello Bob').count()) === 1, 'the message shows twice');
  });

  await step("the DM appears in bob's inbox with an unread badge that counts", async () => {
    await until('bob sees 1 unread', async () => (await badge(bob, 'alice').innerText().catch(() => '')) === '1');
    await alice.getByLabel('Message', { exact: true }).fill('Second one');
    await alice.getByLabel('Message', { exact: true }).press('Enter');
    await until('bob sees 2 unread', async () => (await badge(bob, 'alice').innerText().catch(() => '')) === '2');
    await shot('02-inbox-unread');
  });

  await step('bob opens the DM: history shows and the badge clears', async () => {
    await bob.locator('button[data-room="alice"]').click();
    await message(bob, 'Hello Bob').waitFor();
    await message(bob, 'Second one').waitFor();
    await until('the badge is gone', async () => (await badge(bob, 'alice').count()) === 0);
  });

  await step('a message appears live for bob, with a typing indicator first', async () => {
    await alice.getByLabel('Message', { exact: true }).pressSequentially('Live now', { delay: 30 });
    await bob.getByTestId('typing').getByText('alice is typing').waitFor();
    await alice.getByLabel('Message', { exact: true }).press('Enter');
    await message(bob, 'Live now').waitFor();
    const shown = await texts(bob);
    expect(
      JSON.stringify(shown) === JSON.stringify(['Hello Bob', 'Second one', 'Live now']),
      `bob sees ${JSON.stringify(shown)}`,
    );
    expect((await badge(bob, 'alice').count()) === 0, 'a message read on screen counted as unread');
  });

  await step('text that looks like HTML is shown as text, never run', async () => {
    const markup = '<b>bold</b> <img src=x onerror="window.pwned=1">';
    await alice.getByLabel('Message', { exact: true }).fill(markup);
    await alice.getByLabel('Message', { exact: true }).press('Enter');
    await message(bob, markup).waitFor();
    expect((await message(bob, markup).locator('b, img').count()) === 0, 'the markup became elements');
    expect(!(await bob.evaluate(() => 'pwned' in window)), 'the markup ran');
    await message(alice, markup).getByRole('button', { name: 'Delete' }).click();
    await message(alice, markup).getByRole('button', { name: 'Delete this message' }).click();
    await message(bob, markup).waitFor({ state: 'detached' });
  });

  await step('an edit and a delete show on both sides', async () => {
    await message(alice, 'Hello Bob').getByRole('button', { name: 'Edit' }).click();
    await alice.getByLabel('Edit message').fill('Hello Bob, edited');
    await alice.getByLabel('Edit message').press('Enter');
    for (const page of [alice, bob]) {
      await message(page, 'Hello Bob, edited').getByTestId('edited').waitFor();
    }
    await message(alice, 'Second one').getByRole('button', { name: 'Delete' }).click();
    await message(alice, 'Second one').getByRole('button', { name: 'Delete this message' }).click();
    for (const page of [alice, bob]) {
      await until('the message is marked deleted', async () => (await page.getByTestId('deleted').count()) === 2);
      expect((await message(page, 'Second one').count()) === 0, 'the deleted text is still shown');
    }
    await shot('03-edit-delete');
  });

  await step('a file of a type that cannot be shared is refused before any upload', async () => {
    const uploads = [];
    const watch = (request) => request.url().includes('/uploads') && uploads.push(request.url());
    alice.on('request', watch);
    await dropFile(alice, 'notes.zip', 'application/zip', 'UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==');
    await alice.getByRole('alert').getByText('cannot be shared').waitFor();
    await alice.getByText('up to 100 MB').waitFor();
    alice.off('request', watch);
    expect(uploads.length === 0, 'the refused file was uploaded');
    await alice.getByRole('button', { name: 'Dismiss' }).click();
  });

  await step('alice drops an image on the room, and bob sees it inline', async () => {
    const png = readFileSync(join(FIXTURES, 'picture.png')).toString('base64');
    await dropFile(alice, 'picture.png', 'image/png', png);
    const image = bob.locator('[data-testid=message] img[alt="picture.png"]');
    await image.waitFor();
    await until('the image has loaded', () => image.evaluate((img) => img.complete && img.naturalWidth > 0));
  });

  await step('alice shares a video that bob can play inline', async () => {
    await alice.locator('#file-picker').setInputFiles(join(FIXTURES, 'clip.webm'));
    const video = bob.locator('[data-testid=message] video');
    await video.waitFor();
    await until('the video can play', () => video.evaluate((v) => v.readyState >= 3 && !v.error));
    // Streamed from storage (it can start before the whole file is here), not a fetched blob.
    const source = await video.evaluate((v) => v.currentSrc);
    if (!/^https?:/.test(source)) {
      throw new Error(`the video is not streamed: ${source}`);
    }
    await shot('04-files');
  });

  await step('bob goes offline, alice sends 3, bob comes back and sees all 3 in order', async () => {
    await contexts.bob.setOffline(true);
    await bob.getByTestId('connection-banner').waitFor();
    for (const text of ['one', 'two', 'three']) {
      await alice.getByLabel('Message', { exact: true }).fill(text);
      await alice.getByLabel('Message', { exact: true }).press('Enter');
    }
    await until('alice has them confirmed', async () => (await alice.getByTestId('pending').count()) === 0);
    await shot('05-bob-offline');
    expect((await message(bob, 'one').count()) === 0, 'bob got a message while offline');
    const catchUp = bob.waitForRequest((request) => request.url().includes('/events?after='));
    await contexts.bob.setOffline(false);
    await catchUp;
    await until('bob has caught up', async () => {
      const shown = await texts(bob);
      return JSON.stringify(shown.slice(-3)) === JSON.stringify(['one', 'two', 'three']) || shown;
    });
    await bob.getByTestId('connection-banner').waitFor({ state: 'detached' });
    const shown = await texts(bob);
    expect(new Set(shown).size === shown.length, `duplicates after catch-up: ${JSON.stringify(shown)}`);
    await shot('06-caught-up');
  });

  await step('a reload keeps the session, the open room and its history', async () => {
    await bob.reload();
    await message(bob, 'three').waitFor();
    const shown = await texts(bob);
    expect(
      JSON.stringify(shown) === JSON.stringify(['Hello Bob, edited', 'Live now', 'one', 'two', 'three']),
      `after reload bob sees ${JSON.stringify(shown)}`,
    );
    await bob.getByTestId('deleted').first().waitFor();
    await bob.locator('[data-testid=message] img[alt="picture.png"]').waitFor();
  });

  await step('alice creates a room with bob and invites carol; bob sees it in his inbox', async () => {
    await alice.getByLabel('New room').fill('Team');
    await alice.getByLabel('Members to invite').fill('bob');
    await alice.getByRole('button', { name: 'Create' }).click();
    await alice.getByTestId('room-title').getByText('Team').waitFor();
    await alice.getByLabel('Invite someone').fill('carol');
    await alice.getByRole('button', { name: 'Invite' }).click();
    await alice.getByText('3 members: alice, bob, carol').waitFor();
    await alice.getByLabel('Message', { exact: true }).fill('Welcome, both');
    await alice.getByLabel('Message', { exact: true }).press('Enter');
    await until('bob sees the room with 1 unread', async () => (await badge(bob, 'Team').innerText().catch(() => '')) === '1');
    expect((await bob.title()) === '(1) chat', `bob's tab title is ${await bob.title()}`);
    await shot('08-group-room');
  });

  await step('bob scrolls up through a long history, a page at a time, in order', async () => {
    const roomId = await alice.evaluate(() => decodeURIComponent(location.hash.split('/').pop()));
    // Taking turns, in order, each waiting out a rate limit as the client does (45 messages at
    // once are more than one person may send).
    for (let i = 1; i <= 45; i++) {
      await (i % 2 ? alice : bob).evaluate(async ({ roomId, i }) => {
        const session = JSON.parse(localStorage.getItem('chat.session'));
        const config = await (await fetch('/config.json')).json();
        for (;;) {
          const sent = await fetch(`${config.apiUrl}/rooms/${roomId}/messages`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${session.idToken}`, 'Content-Type': 'application/json' },
            body: JSON.stringify({ text: `history ${String(i).padStart(2, '0')}`, client_id: `seed-${i}` }),
          });
          if (sent.status === 429) {
            const { error } = await sent.json();
            await new Promise((resolve) => setTimeout(resolve, error.retry_after_ms));
            continue;
          }
          if (!sent.ok) {
            throw new Error(await sent.text());
          }
          return;
        }
      }, { roomId, i });
    }
    // Once bob's inbox shows the last one live, the history views hold all of them (a page
    // read before that would be short, and catch-up from the log would fill in the rest).
    await bob.locator('button[data-room="Team"]').getByText('history 45').waitFor();
    await bob.locator('button[data-room="Team"]').click();
    await message(bob, 'history 45').waitFor();
    const firstPage = await texts(bob);
    expect(!firstPage.includes('history 01'), `the whole history came at once: ${firstPage.length} messages`);
    await until('scrolling up has loaded the first message', async () => {
      await bob.locator('.messages').evaluate((list) => (list.scrollTop = 0));
      return (await message(bob, 'history 01').count()) === 1;
    });
    await bob.getByText('This is the start of the conversation.').waitFor();
    const expected = ['Welcome, both', ...Array.from({ length: 45 }, (_, i) => `history ${String(i + 1).padStart(2, '0')}`)];
    const shown = await texts(bob);
    expect(JSON.stringify(shown) === JSON.stringify(expected), `bob sees ${JSON.stringify(shown)}`);
    await shot('09-history-top');
  });

  await step('on a narrow screen the room fills the window', async () => {
    await bob.setViewportSize({ width: 390, height: 760 });
    await bob.getByRole('button', { name: 'Back to conversations' }).waitFor();
    expect(!(await bob.locator('app-inbox').isVisible()), 'the inbox is still shown beside the room');
    await shot('10-narrow', ['bob']);
  });

  await step('signing out ends the session, also after a reload', async () => {
    await bob.getByRole('button', { name: 'Sign out' }).click();
    await bob.getByRole('heading', { name: 'Sign in to chat' }).waitFor();
    await bob.reload();
    await bob.getByRole('heading', { name: 'Sign in to chat' }).waitFor();
  });

  console.log(`all steps passed in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${ARTIFACTS}`);
} finally {
  await browser.close();
}
