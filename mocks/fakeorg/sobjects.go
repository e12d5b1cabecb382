package fakeorg

import (
	"net/http"
	"strings"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
	"github.com/idverify/idverify/mocks/fakeorg/soql"
)

// serveResources is GET /services/data/vNN.N/.
func serveResources(c *call) response {
	p := "/services/data/v" + c.ver + "/"
	m := map[string]string{}
	for _, r := range []string{"sobjects", "query", "queryAll", "search", "parameterizedSearch",
		"composite", "limits", "tooling", "recent", "connect", "analytics", "process"} {
		m[r] = p + r
	}
	return jsonResp(http.StatusOK, m)
}

func serveDescribeGlobal(c *call) response {
	return jsonResp(http.StatusOK, c.schema().DescribeGlobal(c.ver))
}

// schema is the org's schema as the call's API version sees it: objects and fields that
// appeared later are unknown (NOT_FOUND, INVALID_FIELD), as in Salesforce.
func (c *call) schema() *orgdb.Schema { return c.o.db.Schema().At(c.verN) }

// object resolves the sObject named in the path (case-insensitively), as the call's API
// version sees it.
func (c *call) object(name string) (*orgdb.SObject, *orgdb.Error) {
	obj, ok := c.schema().Lookup(name)
	if !ok {
		return nil, errNotFound
	}
	return obj, nil
}

func serveSObjectInfo(c *call) response {
	obj, e := c.object(c.segs[1])
	if e != nil {
		return errResp(e)
	}
	return jsonResp(http.StatusOK, obj.Basic(c.ver))
}

func serveDescribe(c *call) response {
	obj, e := c.object(c.segs[1])
	if e != nil {
		return errResp(e)
	}
	return jsonResp(http.StatusOK, obj.Describe(c.ver))
}

func (c *call) recordURL(typ, id string) string {
	return string(appendRecordURL(nil, c.ver, typ, id))
}

// serveCreate is POST sobjects/X → 201 {"id","success":true,"errors":[]}.
func serveCreate(c *call) response {
	obj, e := c.object(c.segs[1])
	if e != nil {
		return errResp(e)
	}
	fields, e := c.record()
	if e != nil {
		return errResp(e)
	}
	return c.run(true, func(tx *orgdb.Tx) response {
		id, e := tx.Create(obj.Name(), fields)
		if e != nil {
			return errResp(e)
		}
		return response{status: http.StatusCreated, body: appendSaveResult(nil, id, nil, nil),
			location: c.recordURL(obj.Name(), id)}
	})
}

// fieldsParam reads ?fields=a,b; nil means every field.
func fieldsParam(q string) []string {
	if q == "" {
		return nil
	}
	var out []string
	for _, f := range strings.Split(q, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// serveRead is GET sobjects/X/ID[?fields=…].
func serveRead(c *call) response {
	obj, e := c.object(c.segs[1])
	if e != nil {
		return errResp(e)
	}
	return c.run(false, func(tx *orgdb.Tx) response {
		rec, e := tx.Get(obj.Name(), c.segs[2], fieldsParam(c.query.Get("fields")))
		if e != nil {
			return errResp(e)
		}
		return response{status: http.StatusOK, body: appendRecord(nil, withID(rec), c.ver)}
	})
}

// withID appends the Id field when a read with ?fields= left it out: Salesforce always answers
// it, after the fields asked for.
func withID(rec *orgdb.Record) *orgdb.Record {
	for _, f := range rec.Fields {
		if f.Name == "Id" {
			return rec
		}
	}
	cp := *rec
	cp.Fields = append(rec.Fields[:len(rec.Fields):len(rec.Fields)], orgdb.Field{Name: "Id", Value: rec.ID})
	return &cp
}

// serveUpdate is PATCH sobjects/X/ID → 204.
func serveUpdate(c *call) response {
	obj, e := c.object(c.segs[1])
	if e != nil {
		return errResp(e)
	}
	fields, e := c.record()
	if e != nil {
		return errResp(e)
	}
	return c.run(true, func(tx *orgdb.Tx) response {
		if e := tx.Update(obj.Name(), c.segs[2], fields); e != nil {
			return errResp(e)
		}
		return response{status: http.StatusNoContent}
	})
}

// serveDelete is DELETE sobjects/X/ID → 204.
func serveDelete(c *call) response {
	obj, e := c.object(c.segs[1])
	if e != nil {
		return errResp(e)
	}
	return c.run(true, func(tx *orgdb.Tx) response {
		if e := tx.Delete(obj.Name(), c.segs[2]); e != nil {
			return errResp(e)
		}
		return response{status: http.StatusNoContent}
	})
}

// soqlString quotes s as a SOQL string literal.
func soqlString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\\', '\'', '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// multipleChoices is the 300 answer when several records match an external id: a JSON array
// of their record URLs.
func (c *call) multipleChoices(typ string, ids []string) response {
	urls := make([]string, len(ids))
	for i, id := range ids {
		urls[i] = c.recordURL(typ, id)
	}
	return jsonResp(http.StatusMultipleChoices, urls)
}

// serveReadByExternalID is GET sobjects/X/Field/Value.
func serveReadByExternalID(c *call) response {
	obj, e := c.object(c.segs[1])
	if e != nil {
		return errResp(e)
	}
	value := c.segs[3]
	f, e := externalIDField(obj, c.segs[2])
	if e != nil {
		return errResp(e)
	}
	field := f.Name
	return c.run(false, func(tx *orgdb.Tx) response {
		if strings.EqualFold(field, "Id") {
			rec, e := tx.Get(obj.Name(), value, fieldsParam(c.query.Get("fields")))
			if e != nil {
				return errResp(e)
			}
			return response{status: http.StatusOK, body: appendRecord(nil, withID(rec), c.ver)}
		}
		res, e := tx.Query("SELECT Id FROM "+obj.Name()+" WHERE "+field+" = "+soqlString(value), false)
		if e != nil {
			return errResp(e)
		}
		switch len(res.Records) {
		case 0:
			return errResp(errNotFound)
		case 1:
			rec, e := tx.Get(obj.Name(), res.Records[0].ID, fieldsParam(c.query.Get("fields")))
			if e != nil {
				return errResp(e)
			}
			return response{status: http.StatusOK, body: appendRecord(nil, withID(rec), c.ver)}
		}
		ids := make([]string, len(res.Records))
		for i, r := range res.Records {
			ids[i] = r.ID
		}
		return c.multipleChoices(obj.Name(), ids)
	})
}

// externalIDField resolves the field an upsert or a read by external id names: only an external
// id or idLookup field (Id among them) names records.
func externalIDField(obj *orgdb.SObject, name string) (*orgdb.FieldDef, *orgdb.Error) {
	f, ok := obj.Field(name)
	if !ok || !(f.ExternalID || f.IDLookup) {
		return nil, &orgdb.Error{Status: http.StatusNotFound, Code: "NOT_FOUND",
			Message: "Provided external ID field does not exist or is not accessible: " + soql.Clip(name)}
	}
	return f, nil
}

// serveUpsert is PATCH sobjects/X/Field/Value: 201 created, 200 updated (204 before v46.0),
// 300 when several records match.
func serveUpsert(c *call) response {
	obj, e := c.object(c.segs[1])
	if e != nil {
		return errResp(e)
	}
	fields, e := c.record()
	if e != nil {
		return errResp(e)
	}
	return c.run(true, func(tx *orgdb.Tx) response {
		res, e := tx.Upsert(obj.Name(), c.segs[2], c.segs[3], fields)
		if e != nil {
			return errResp(e)
		}
		if len(res.Matches) > 0 {
			return c.multipleChoices(obj.Name(), res.Matches)
		}
		created := res.Created
		switch {
		case created:
			return response{status: http.StatusCreated, body: appendSaveResult(nil, res.ID, nil, &created),
				location: c.recordURL(obj.Name(), res.ID)}
		case c.verN < 46:
			return response{status: http.StatusNoContent}
		}
		return response{status: http.StatusOK, body: appendSaveResult(nil, res.ID, nil, &created),
			location: c.recordURL(obj.Name(), res.ID)}
	})
}

type limit struct {
	Max       int64 `json:"Max"`
	Remaining int64 `json:"Remaining"`
}

// serveLimits is GET limits.
func serveLimits(c *call) response {
	used, max := c.o.usage.snapshot(c.o.now())
	batchesUsed, batchesMax := c.o.BulkBatchUsage()
	fixed := func(n int64) limit { return limit{n, n} }
	return jsonResp(http.StatusOK, map[string]limit{
		"DailyApiRequests":                      {max, max - used},
		"ConcurrentAsyncGetReportInstances":     fixed(200),
		"ConcurrentSyncReportRuns":              fixed(20),
		"DailyAsyncApexExecutions":              fixed(250000),
		"DailyBulkApiBatches":                   {batchesMax, batchesMax - batchesUsed},
		"DailyBulkV2QueryJobs":                  fixed(10000),
		"DailyBulkV2QueryFileStorageMB":         fixed(976562),
		"DailyGenericStreamingApiEvents":        fixed(10000),
		"DailyStreamingApiEvents":               fixed(10000),
		"DataStorageMB":                         fixed(5),
		"FileStorageMB":                         fixed(20),
		"HourlyPublishedPlatformEvents":         fixed(50000),
		"HourlyTimeBasedWorkflow":               fixed(50),
		"MassEmail":                             fixed(10),
		"SingleEmail":                           fixed(15),
		"PermissionSets":                        fixed(1500),
		"HourlyODataCallout":                    fixed(20000),
		"DailyDurableStreamingApiEvents":        fixed(10000),
		"DailyDurableGenericStreamingApiEvents": fixed(10000),
	})
}
