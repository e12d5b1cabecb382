// check.js: the Salesforce CLI (`sf`, npm @salesforce/cli), unchanged, against a running
// `idverify fake-org`.
//
// LOGIN_URL is the fake org's URL; `sf` must be on PATH (run.sh puts node_modules/.bin there,
// with a scratch HOME). Each step runs one `sf` command and prints "ok <step> (<seconds>)" or
// "FAIL <step>: <why>"; the process fails if any step did.
'use strict';

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');

const loginUrl = process.env.LOGIN_URL;
if (!loginUrl) {
  console.error('LOGIN_URL is not set');
  process.exit(2);
}
const alias = 'fakeorg';
let failures = 0;
let passes = 0;

// sf runs one command; json adds --json and parses the answer. It returns {status, out, json}.
function sf(args, { json = false, env = {} } = {}) {
  const argv = json ? [...args, '--json'] : args;
  const r = spawnSync('sf', argv, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 600000 }); // the CLI starts slowly on a busy machine
  if (r.error) throw r.error;
  const res = { status: r.status, out: r.stdout, err: r.stderr };
  if (json) {
    try {
      res.json = JSON.parse(r.stdout);
    } catch (e) {
      throw new Error(`sf ${argv.join(' ')}: not JSON (exit ${r.status}): ${r.stdout}\n${r.stderr}`);
    }
  }
  return res;
}

// ok asserts a command succeeded and returns its JSON result.
function ok(args) {
  const r = sf(args, { json: true });
  assert.equal(r.status, 0, `sf ${args.join(' ')} exited ${r.status}: ${JSON.stringify(r.json)}`);
  return r.json.result;
}

function step(name, fn) {
  const start = Date.now();
  try {
    const detail = fn();
    passes++;
    const secs = ((Date.now() - start) / 1000).toFixed(1);
    console.log(`ok   ${name} (${secs}s${detail ? ', ' + detail : ''})`);
  } catch (err) {
    failures++;
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
  }
}

async function main() {
  // An access token from the org's OAuth password flow, as a user would paste one.
  const res = await fetch(loginUrl + '/services/oauth2/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password', client_id: 'idverify-demo', client_secret: 'idverify-demo-secret',
      username: 'integration@demo.idverify.dev', password: 'demo-password',
    }),
  });
  assert.equal(res.status, 200, 'OAuth password flow');
  const token = (await res.json()).access_token;

  console.log(sf(['--version']).out.trim());

  step('sf org login access-token', () => {
    const r = sf(['org', 'login', 'access-token', '--instance-url', loginUrl, '--no-prompt', '--alias', alias],
      { json: true, env: { SF_ACCESS_TOKEN: token } });
    assert.equal(r.status, 0, JSON.stringify(r.json));
    assert.equal(r.json.result.username, 'integration@demo.idverify.dev');
    assert.match(r.json.result.orgId, /^00D[0-9A-Za-z]{15}$/);
  });

  step('sf org display', () => {
    const r = ok(['org', 'display', '--target-org', alias]);
    assert.equal(r.connectedStatus, 'Connected');
    assert.equal(r.username, 'integration@demo.idverify.dev');
    assert.match(r.id, /^00D[0-9A-Za-z]{15}$/);
    assert.equal(r.instanceUrl.replace(/\/$/, ''), loginUrl);
  });

  const soql = "SELECT Id, Name, Owner.Name, (SELECT LastName FROM Contacts) FROM Account WHERE Name = 'Alice Martin'";
  step('sf data query (table)', () => {
    const r = sf(['data', 'query', '--query', soql, '--target-org', alias]);
    assert.equal(r.status, 0, r.out + r.err);
    for (const want of ['ID', 'NAME', 'OWNER.NAME', 'CONTACTS.LASTNAME', 'Alice Martin', 'Total number of records retrieved: 1']) {
      assert.ok(r.out.includes(want), `output lacks ${want}:\n${r.out}`);
    }
  });

  step('sf data query --json', () => {
    const r = ok(['data', 'query', '--query', soql, '--target-org', alias]);
    assert.equal(r.totalSize, 1);
    assert.equal(r.records[0].Name, 'Alice Martin');
    assert.equal(r.records[0].Owner.Name, 'Demo Integration');
  });

  step('sf data query (aggregate)', () => {
    const r = sf(['data', 'query', '--query', 'SELECT COUNT(Id) n FROM Contact', '--target-org', alias]);
    assert.equal(r.status, 0, r.out + r.err);
    assert.ok(/N\b/.test(r.out), r.out);
  });

  let id;
  step('sf data create record', () => {
    const r = ok(['data', 'create', 'record', '--sobject', 'Lead', '--values', "LastName='Clitest' Company='Acme Ltd' Email=cli@example.com", '--target-org', alias]);
    assert.equal(r.success, true);
    assert.match(r.id, /^00Q[0-9A-Za-z]{15}$/);
    id = r.id;
    return id;
  });

  step('sf data get record (by id)', () => {
    const r = ok(['data', 'get', 'record', '--sobject', 'Lead', '--record-id', id, '--target-org', alias]);
    assert.equal(r.Id, id);
    assert.equal(r.Company, 'Acme Ltd');
    assert.equal(r.Status, 'Open - Not Contacted');
  });

  step('sf data update record', () => {
    const r = ok(['data', 'update', 'record', '--sobject', 'Lead', '--record-id', id, '--values', "Title='Buyer'", '--target-org', alias]);
    assert.equal(r.success, true);
  });

  step('sf data get record (by where)', () => {
    const r = ok(['data', 'get', 'record', '--sobject', 'Lead', '--where', "LastName='Clitest'", '--target-org', alias]);
    assert.equal(r.Id, id);
    assert.equal(r.Title, 'Buyer');
  });

  step('sf data search', () => {
    const r = ok(['data', 'search', '--query', 'FIND {Clitest} IN NAME FIELDS RETURNING Lead(Id, Name)', '--target-org', alias]);
    assert.equal(r.searchRecords.length, 1);
    assert.equal(r.searchRecords[0].Id, id);
  });

  step('sf data delete record', () => {
    const r = ok(['data', 'delete', 'record', '--sobject', 'Lead', '--record-id', id, '--target-org', alias]);
    assert.equal(r.success, true);
    const gone = sf(['data', 'get', 'record', '--sobject', 'Lead', '--record-id', id, '--target-org', alias], { json: true });
    assert.notEqual(gone.status, 0, 'a deleted record is not found');
  });

  step('sf sobject describe', () => {
    const r = ok(['sobject', 'describe', '--sobject', 'EngagementInteraction', '--target-org', alias]);
    assert.equal(r.name, 'EngagementInteraction');
    const ext = r.fields.find((f) => f.name === 'ExternalIdentifier');
    assert.ok(ext && ext.idLookup && !ext.externalId, JSON.stringify(ext));
    return `${r.fields.length} fields`;
  });

  step('sf sobject list', () => {
    const r = ok(['sobject', 'list', '--sobject', 'all', '--target-org', alias]);
    for (const n of ['Account', 'AccountContactRelation', 'EngagementInteraction', 'IdentityVerificationProcFld', 'Lead']) {
      assert.ok(r.includes(n), n);
    }
    return `${r.length} objects`;
  });

  console.log(`${passes} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
