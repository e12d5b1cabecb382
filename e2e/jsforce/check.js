// check.js: jsforce, unchanged, against a running `idverify fake-org`.
//
// LOGIN_URL is the fake org's URL (e.g. http://127.0.0.1:8089); RECORDS is the --records the
// org was started with (more than 2,000 makes the paging check cross pages). Each step prints
// "ok <step>" or fails the process with the assertion that broke.
'use strict';

const assert = require('node:assert/strict');
const jsforce = require('jsforce');

const loginUrl = process.env.LOGIN_URL;
const generated = Number(process.env.RECORDS || '0');
if (!loginUrl) {
  console.error('LOGIN_URL is not set');
  process.exit(2);
}

let failures = 0;
let passes = 0;

async function step(name, fn) {
  try {
    const detail = await fn();
    passes++;
    console.log(`ok   ${name}${detail ? ' (' + detail + ')' : ''}`);
  } catch (err) {
    failures++;
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
  }
}

async function main() {
  const conn = new jsforce.Connection({
    oauth2: { loginUrl, clientId: 'idverify-demo', clientSecret: 'idverify-demo-secret' },
    version: '62.0',
  });

  await step('login (OAuth password flow)', async () => {
    const info = await conn.login('integration@demo.idverify.dev', 'demo-password');
    assert.match(info.id, /^005[0-9A-Za-z]{15}$/);
    assert.match(info.organizationId, /^00D[0-9A-Za-z]{15}$/);
    assert.equal(conn.instanceUrl, loginUrl);
    assert.ok(conn.accessToken);
    return `user ${info.id}`;
  });

  await step('identity', async () => {
    const id = await conn.identity();
    assert.equal(id.username, 'integration@demo.idverify.dev');
    assert.equal(id.organization_id.length, 18);
  });

  await step('describeGlobal', async () => {
    const g = await conn.describeGlobal();
    const names = g.sobjects.map((s) => s.name);
    for (const n of ['Account', 'Contact', 'Lead', 'EngagementInteraction', 'IdentityVerificationProcDtl']) {
      assert.ok(names.includes(n), n);
    }
    return `${names.length} objects`;
  });

  await step('describe Contact', async () => {
    const d = await conn.sobject('Contact').describe();
    assert.equal(d.name, 'Contact');
    assert.equal(d.keyPrefix, '003');
    const last = d.fields.find((f) => f.name === 'LastName');
    assert.ok(last && last.type === 'string' && last.nillable === false);
    return `${d.fields.length} fields`;
  });

  await step('query (one page)', async () => {
    const res = await conn.query('SELECT Id, Name, Phone FROM Account ORDER BY Name LIMIT 5');
    assert.equal(res.done, true);
    assert.ok(res.records.length > 0 && res.records.length <= 5);
    assert.equal(res.records[0].attributes.type, 'Account');
    return `${res.totalSize} rows`;
  });

  await step('query with a parent field', async () => {
    const res = await conn.query('SELECT Id, LastName, Account.Name FROM Contact WHERE AccountId != null LIMIT 3');
    assert.ok(res.records.length > 0);
    assert.equal(res.records[0].Account.attributes.type, 'Account');
  });

  let total = 0;
  await step('query paging (queryMore)', async () => {
    let res = await conn.query('SELECT Id FROM Contact');
    total = res.totalSize;
    const seen = new Set(res.records.map((r) => r.Id));
    let pages = 1;
    while (!res.done) {
      assert.match(res.nextRecordsUrl, /\/services\/data\/v62\.0\/query\/01g[0-9A-Za-z]{15}-\d+$/);
      res = await conn.queryMore(res.nextRecordsUrl);
      res.records.forEach((r) => seen.add(r.Id));
      pages++;
    }
    assert.equal(seen.size, total);
    if (generated > 2000) assert.ok(pages > 1, 'more than 2,000 rows must span pages');
    return `${total} rows in ${pages} pages`;
  });

  await step('query paging (autoFetch)', async () => {
    const records = [];
    await new Promise((resolve, reject) => {
      conn.query('SELECT Id FROM Contact')
        .on('record', (r) => records.push(r))
        .on('end', resolve)
        .on('error', reject)
        .run({ autoFetch: true, maxFetch: 1000000 });
    });
    assert.equal(records.length, total);
    return `${records.length} rows`;
  });

  let id;
  await step('create', async () => {
    const res = await conn.sobject('Contact').create({ FirstName: 'Jess', LastName: 'Jsforcecheck', Phone: '+1 555 0142' });
    assert.equal(res.success, true);
    assert.match(res.id, /^003[0-9A-Za-z]{15}$/);
    id = res.id;
    return id;
  });

  await step('retrieve', async () => {
    const rec = await conn.sobject('Contact').retrieve(id);
    assert.equal(rec.Id, id);
    assert.equal(rec.LastName, 'Jsforcecheck');
  });

  await step('update', async () => {
    const res = await conn.sobject('Contact').update({ Id: id, Title: 'Checked' });
    assert.equal(res.success, true);
    assert.equal(res.id, id);
    const rec = await conn.sobject('Contact').retrieve(id);
    assert.equal(rec.Title, 'Checked');
  });

  await step('upsert by external id (create, then update)', async () => {
    const body = { ExternalIdentifier: 'jsforce-call-1', CommunicationChannel: 'Voice Call',
      StartDateTime: new Date().toISOString(), Status: 'New', Type: 'Inbound' };
    const first = await conn.sobject('EngagementInteraction').upsert(body, 'ExternalIdentifier');
    assert.equal(first.success, true);
    assert.equal(first.created, true);
    const second = await conn.sobject('EngagementInteraction').upsert({ ...body, Status: 'In Progress' }, 'ExternalIdentifier');
    assert.equal(second.success, true);
    assert.equal(second.created, false);
    assert.equal(second.id, first.id);
    const rec = await conn.sobject('EngagementInteraction').retrieve(first.id);
    assert.equal(rec.Status, 'In Progress');
  });

  await step('search (SOSL)', async () => {
    const res = await conn.search('FIND {Jsforcecheck} IN NAME FIELDS RETURNING Contact(Id, LastName)');
    assert.ok(Array.isArray(res.searchRecords));
    assert.equal(res.searchRecords.length, 1);
    assert.equal(res.searchRecords[0].Id, id);
  });

  let many = [];
  await step('create several (sObject collections)', async () => {
    const res = await conn.sobject('Contact').create(
      [{ LastName: 'Jsforcebulk' }, { LastName: 'Jsforcebulk' }], { allOrNone: true });
    assert.equal(res.length, 2);
    res.forEach((r) => assert.equal(r.success, true));
    many = res.map((r) => r.id);
  });

  await step('retrieve, update and upsert several (sObject collections)', async () => {
    const recs = await conn.sobject('Contact').retrieve(many, { fields: ['Id', 'LastName'] });
    assert.equal(recs.length, 2);
    assert.deepEqual(recs.map((r) => r.Id), many);
    const upd = await conn.sobject('Contact').update(many.map((Id) => ({ Id, Title: 'Bulk' })), { allOrNone: true });
    upd.forEach((r) => assert.equal(r.success, true, JSON.stringify(r)));
    const ups = await conn.sobject('EngagementInteraction').upsert([
      { ExternalIdentifier: 'jsforce-call-1', CommunicationChannel: 'Voice Call', Status: 'Completed' },
      { ExternalIdentifier: 'jsforce-call-2', CommunicationChannel: 'Web Chat', Status: 'New' },
    ], 'ExternalIdentifier');
    assert.equal(ups.length, 2);
    assert.equal(ups[0].success, true);
    assert.equal(ups[0].created, false);
    assert.equal(ups[1].created, true);
  });

  await step('sObject collections allOrNone rollback', async () => {
    const res = await conn.sobject('Contact').create(
      [{ LastName: 'Jsforcerollback' }, { FirstName: 'NoLastName' }], { allOrNone: true });
    assert.equal(res.length, 2);
    assert.equal(res[0].success, false);
    assert.equal(res[1].success, false);
    const codes = res.map((r) => r.errors[0].statusCode).sort();
    assert.deepEqual(codes, ['ALL_OR_NONE_OPERATION_ROLLED_BACK', 'REQUIRED_FIELD_MISSING']);
    const left = await conn.query("SELECT COUNT() FROM Contact WHERE LastName = 'Jsforcerollback'");
    assert.equal(left.totalSize, 0);
  });

  await step('composite with references (conn.requestPost)', async () => {
    const res = await conn.requestPost('/services/data/v62.0/composite', {
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: '/services/data/v62.0/sobjects/Account', referenceId: 'acct', body: { Name: 'Jsforce Composite Co' } },
        { method: 'POST', url: '/services/data/v62.0/sobjects/Contact', referenceId: 'ct',
          body: { LastName: 'Jsforcecomposite', AccountId: '@{acct.id}' } },
        { method: 'GET', url: "/services/data/v62.0/query?q=SELECT+Id,AccountId+FROM+Contact+WHERE+Id='@{ct.id}'", referenceId: 'q' },
      ],
    });
    const items = res.compositeResponse;
    assert.deepEqual(items.map((i) => i.httpStatusCode), [201, 201, 200]);
    assert.equal(items[2].body.records[0].AccountId, items[0].body.id);
  });

  await step('error: bad SOQL', async () => {
    await assert.rejects(conn.query('SELECT Naem FROM Contact'), (err) => {
      assert.equal(err.errorCode, 'INVALID_FIELD');
      return true;
    });
  });

  await step('tooling query', async () => {
    const res = await conn.tooling.query('SELECT Id FROM IdentityVerificationProcDtl');
    assert.equal(res.done, true);
    return `${res.totalSize} rows`;
  });

  await step('limits', async () => {
    const l = await conn.limits();
    assert.ok(l.DailyApiRequests.Max > 0);
    assert.ok(l.DailyApiRequests.Remaining <= l.DailyApiRequests.Max);
  });

  await step('delete', async () => {
    const res = await conn.sobject('Contact').destroy(id);
    assert.equal(res.success, true);
    await assert.rejects(conn.sobject('Contact').retrieve(id));
    const gone = await conn.sobject('Contact').destroy(many);
    assert.equal(gone.length, 2);
    gone.forEach((r) => assert.equal(r.success, true));
  });

  await step('expired session: 401, then jsforce refreshes the token and replays', async () => {
    const before = conn.accessToken;
    const res = await fetch(loginUrl + '/_fakeorg/expire-tokens', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}',
    });
    assert.equal(res.status, 204);
    let refreshed = false;
    conn.once('refresh', () => { refreshed = true; });
    const q = await conn.query('SELECT Id FROM Contact LIMIT 1');
    assert.equal(q.records.length, 1);
    assert.ok(refreshed, 'jsforce refreshed the access token');
    assert.notEqual(conn.accessToken, before);
  });

  await step('logout (token revoke)', async () => {
    const token = conn.accessToken;
    await conn.logout();
    const again = new jsforce.Connection({ instanceUrl: loginUrl, accessToken: token, version: '62.0' });
    await assert.rejects(again.query('SELECT Id FROM Contact LIMIT 1'), (err) => {
      assert.equal(err.errorCode, 'INVALID_SESSION_ID');
      return true;
    });
  });

  console.log(`${passes} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
