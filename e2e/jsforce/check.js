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
      { ExternalIdentifier: 'jsforce-call-2', CommunicationChannel: 'Web Chat', Status: 'New', StartDateTime: new Date().toISOString() },
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

  // Bulk API 2.0 ingest (conn.bulk2): jsforce's own job API, unchanged. The fake processes a
  // closed job at once, so a short poll interval keeps the check fast; the timeout only bounds
  // a failure, and is generous for a busy machine.
  conn.bulk2.pollInterval = 50;
  conn.bulk2.pollTimeout = 300000;
  const run = `bulk2-${Date.now()}`;
  const startDateTime = new Date().toISOString();

  await step('bulk2 loadAndWaitForResults: upsert EngagementInteraction by ExternalIdentifier', async () => {
    const input = [
      { ExternalIdentifier: `${run}-1`, CommunicationChannel: 'Voice Call', StartDateTime: startDateTime, IsAttendeeVerified: true, Status: 'Completed' },
      { ExternalIdentifier: `${run}-2`, CommunicationChannel: 'Web Chat', StartDateTime: startDateTime, IsAttendeeVerified: false, Status: 'New' },
      { ExternalIdentifier: `${run}-3`, CommunicationChannel: 'Carrier Pigeon', StartDateTime: startDateTime, Status: 'New' },
      { CommunicationChannel: 'Voice Call', StartDateTime: startDateTime, Status: 'New' },
    ];
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'EngagementInteraction', operation: 'upsert', externalIdFieldName: 'ExternalIdentifier', input,
    });
    assert.equal(res.successfulResults.length, 2);
    res.successfulResults.forEach((r) => {
      assert.match(r.sf__Id, /^0Ze[0-9A-Za-z]{15}$/);
      assert.equal(r.sf__Created, 'true');
    });
    assert.equal(res.failedResults.length, 2);
    const errors = res.failedResults.map((r) => r.sf__Error.split(':')[0]).sort();
    assert.deepEqual(errors, ['INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', 'MISSING_ARGUMENT']);
    assert.deepEqual(res.unprocessedRecords, []);

    // The same external ids again: updated, not duplicated.
    const again = await conn.bulk2.loadAndWaitForResults({
      object: 'EngagementInteraction', operation: 'upsert', externalIdFieldName: 'ExternalIdentifier',
      input: input.slice(0, 2).map((r) => ({ ...r, Status: 'In Progress' })),
    });
    assert.equal(again.successfulResults.length, 2);
    again.successfulResults.forEach((r) => assert.equal(r.sf__Created, 'false'));
    const q = await conn.query(`SELECT Id, Status FROM EngagementInteraction WHERE ExternalIdentifier LIKE '${run}-%'`);
    assert.equal(q.totalSize, 2);
    q.records.forEach((r) => assert.equal(r.Status, 'In Progress'));
    return `${res.successfulResults.length} created, ${res.failedResults.length} failed, then 2 updated`;
  });

  await step('bulk2 job API: create, upload CSV, close, poll, results (attendees by their engagement\'s external id)', async () => {
    const job = conn.bulk2.createJob({ object: 'EngagementAttendee', operation: 'insert', columnDelimiter: 'PIPE', lineEnding: 'CRLF' });
    const opened = await job.open();
    assert.equal(opened.state, 'Open');
    assert.match(job.id, /^750[0-9A-Za-z]{15}$/);
    const user = (await conn.identity()).user_id;
    // EngagementId is polymorphic (EngagementInteraction, MessagingSession, VoiceCall), so the
    // column names the parent's type ("Relationship Fields in a Header Row (2.0)").
    const csv = [
      'EngagementInteraction:Engagement.ExternalIdentifier|InternalAttendeeId|StartDateTime|Role',
      `${run}-1|${user}|${startDateTime}|Self`,
      `${run}-2|${user}|${startDateTime}|"On|Behalf"`,
      `${run}-missing|${user}|${startDateTime}|Self`,
      '',
    ].join('\r\n');
    await job.uploadData(csv);
    await job.close();
    await job.poll();
    const info = await job.check();
    assert.equal(info.state, 'JobComplete');
    assert.equal(info.numberRecordsProcessed, 3);
    assert.equal(info.numberRecordsFailed, 1);
    const ok = await job.getSuccessfulResults();
    assert.equal(ok.length, 2);
    assert.deepEqual(ok.map((r) => r['EngagementInteraction:Engagement.ExternalIdentifier']).sort(), [`${run}-1`, `${run}-2`]);
    const failed = await job.getFailedResults();
    assert.equal(failed.length, 1);
    assert.match(failed[0].sf__Error, /^INVALID_FIELD:Foreign key external ID: .*-missing not found/);
    assert.deepEqual(await job.getUnprocessedRecords(), []);
    const q = await conn.query(`SELECT Engagement.ExternalIdentifier, Role FROM EngagementAttendee WHERE Engagement.ExternalIdentifier LIKE '${run}-%' ORDER BY Engagement.ExternalIdentifier`);
    assert.deepEqual(q.records.map((r) => r.Role), ['Self', 'On|Behalf']);
    await job.delete();
    await assert.rejects(job.check(), (err) => {
      assert.equal(err.errorCode, 'NOT_FOUND');
      return true;
    });
    return `${ok.length} inserted, ${failed.length} failed`;
  });

  await step('bulk2 errors: unknown object, second upload, unreadable header, abort', async () => {
    await assert.rejects(conn.bulk2.createJob({ object: 'NoSuchObject', operation: 'insert' }).open(), (err) => {
      assert.equal(err.errorCode, 'INVALIDJOB');
      return true;
    });
    const job = conn.bulk2.createJob({ object: 'Contact', operation: 'insert' });
    await job.open();
    await job.uploadData('LastName,Nickname\nA,b\n');
    // jsforce refuses a second upload itself; another handle on the job reaches the org.
    await assert.rejects(conn.bulk2.job('ingest', { id: job.id }).uploadData('LastName\nB\n'), (err) => {
      assert.equal(err.errorCode, 'BULK_API_ERROR');
      return true;
    });
    await job.close();
    await assert.rejects(job.poll(), /InvalidBatch : Field name not found : Nickname/);
    const unprocessed = await job.getUnprocessedRecords();
    assert.deepEqual(unprocessed, [{ LastName: 'A', Nickname: 'b' }]);

    const aborted = conn.bulk2.createJob({ object: 'Contact', operation: 'insert' });
    await aborted.open();
    await aborted.abort();
    assert.equal((await aborted.check()).state, 'Aborted');
    await aborted.delete();
  });

  await step('bulk2 empty input and delete by Id', async () => {
    const empty = await conn.bulk2.loadAndWaitForResults({ object: 'Contact', operation: 'insert', input: [] });
    assert.deepEqual(empty, { successfulResults: [], failedResults: [], unprocessedRecords: [] });
    const ins = await conn.bulk2.loadAndWaitForResults({
      object: 'Contact', operation: 'insert', input: [{ LastName: 'Bulkdelete' }, { LastName: 'Bulkdelete' }],
    });
    const del = await conn.bulk2.loadAndWaitForResults({
      object: 'Contact', operation: 'delete', input: ins.successfulResults.map((r) => ({ Id: r.sf__Id })),
    });
    assert.equal(del.successfulResults.length, 2);
    const left = await conn.query("SELECT COUNT() FROM Contact WHERE LastName = 'Bulkdelete'");
    assert.equal(left.totalSize, 0);
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
