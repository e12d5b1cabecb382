package orgdb

import "strings"

// The describe bodies follow the shape of Salesforce's REST describe calls closely, because
// jsforce and the Salesforce CLI read them; keys appear in Salesforce's (alphabetical) order.

type describeGlobal struct {
	Encoding     string           `json:"encoding"`
	MaxBatchSize int              `json:"maxBatchSize"`
	SObjects     []objectDescribe `json:"sobjects"`
}

type objectDescribe struct {
	Activateable        bool              `json:"activateable"`
	AssociateEntityType *string           `json:"associateEntityType"`
	AssociateParent     *string           `json:"associateParentEntity"`
	Createable          bool              `json:"createable"`
	Custom              bool              `json:"custom"`
	CustomSetting       bool              `json:"customSetting"`
	DeepCloneable       bool              `json:"deepCloneable"`
	Deletable           bool              `json:"deletable"`
	DeprecatedAndHidden bool              `json:"deprecatedAndHidden"`
	FeedEnabled         bool              `json:"feedEnabled"`
	HasSubtypes         bool              `json:"hasSubtypes"`
	IsInterface         bool              `json:"isInterface"`
	IsSubtype           bool              `json:"isSubtype"`
	KeyPrefix           string            `json:"keyPrefix"`
	Label               string            `json:"label"`
	LabelPlural         string            `json:"labelPlural"`
	Layoutable          bool              `json:"layoutable"`
	Mergeable           bool              `json:"mergeable"`
	MruEnabled          bool              `json:"mruEnabled"`
	Name                string            `json:"name"`
	Queryable           bool              `json:"queryable"`
	Replicateable       bool              `json:"replicateable"`
	Retrieveable        bool              `json:"retrieveable"`
	Searchable          bool              `json:"searchable"`
	Triggerable         bool              `json:"triggerable"`
	Undeletable         bool              `json:"undeletable"`
	Updateable          bool              `json:"updateable"`
	URLs                map[string]string `json:"urls"`
}

type fullDescribe struct {
	ActionOverrides       []any                `json:"actionOverrides"`
	Activateable          bool                 `json:"activateable"`
	AssociateEntityType   *string              `json:"associateEntityType"`
	AssociateParentEntity *string              `json:"associateParentEntity"`
	ChildRelationships    []childRelDescribe   `json:"childRelationships"`
	CompactLayoutable     bool                 `json:"compactLayoutable"`
	Createable            bool                 `json:"createable"`
	Custom                bool                 `json:"custom"`
	CustomSetting         bool                 `json:"customSetting"`
	DeepCloneable         bool                 `json:"deepCloneable"`
	DefaultImplementation *string              `json:"defaultImplementation"`
	Deletable             bool                 `json:"deletable"`
	DeprecatedAndHidden   bool                 `json:"deprecatedAndHidden"`
	ExtendedBy            *string              `json:"extendedBy"`
	ExtendsInterfaces     *string              `json:"extendsInterfaces"`
	FeedEnabled           bool                 `json:"feedEnabled"`
	Fields                []fieldDescribe      `json:"fields"`
	HasSubtypes           bool                 `json:"hasSubtypes"`
	ImplementedBy         *string              `json:"implementedBy"`
	ImplementsInterfaces  *string              `json:"implementsInterfaces"`
	IsInterface           bool                 `json:"isInterface"`
	IsSubtype             bool                 `json:"isSubtype"`
	KeyPrefix             string               `json:"keyPrefix"`
	Label                 string               `json:"label"`
	LabelPlural           string               `json:"labelPlural"`
	Layoutable            bool                 `json:"layoutable"`
	Listviewable          *bool                `json:"listviewable"`
	LookupLayoutable      *bool                `json:"lookupLayoutable"`
	Mergeable             bool                 `json:"mergeable"`
	MruEnabled            bool                 `json:"mruEnabled"`
	Name                  string               `json:"name"`
	NamedLayoutInfos      []any                `json:"namedLayoutInfos"`
	NetworkScopeFieldName *string              `json:"networkScopeFieldName"`
	Queryable             bool                 `json:"queryable"`
	RecordTypeInfos       []recordTypeDescribe `json:"recordTypeInfos"`
	Replicateable         bool                 `json:"replicateable"`
	Retrieveable          bool                 `json:"retrieveable"`
	SearchLayoutable      bool                 `json:"searchLayoutable"`
	Searchable            bool                 `json:"searchable"`
	SupportedScopes       []scopeDescribe      `json:"supportedScopes"`
	Triggerable           bool                 `json:"triggerable"`
	Undeletable           bool                 `json:"undeletable"`
	Updateable            bool                 `json:"updateable"`
	URLs                  map[string]string    `json:"urls"`
}

type childRelDescribe struct {
	CascadeDelete       bool     `json:"cascadeDelete"`
	ChildSObject        string   `json:"childSObject"`
	DeprecatedAndHidden bool     `json:"deprecatedAndHidden"`
	Field               string   `json:"field"`
	JunctionIDListNames []string `json:"junctionIdListNames"`
	JunctionReferenceTo []string `json:"junctionReferenceTo"`
	RelationshipName    *string  `json:"relationshipName"`
	RestrictedDelete    bool     `json:"restrictedDelete"`
}

type recordTypeDescribe struct {
	Active                   bool              `json:"active"`
	Available                bool              `json:"available"`
	DefaultRecordTypeMapping bool              `json:"defaultRecordTypeMapping"`
	DeveloperName            string            `json:"developerName"`
	Master                   bool              `json:"master"`
	Name                     string            `json:"name"`
	RecordTypeID             string            `json:"recordTypeId"`
	URLs                     map[string]string `json:"urls"`
}

type scopeDescribe struct {
	Label string `json:"label"`
	Name  string `json:"name"`
}

type picklistDescribe struct {
	Active       bool    `json:"active"`
	DefaultValue bool    `json:"defaultValue"`
	Label        string  `json:"label"`
	ValidFor     *string `json:"validFor"`
	Value        string  `json:"value"`
}

type fieldDescribe struct {
	Aggregatable             bool               `json:"aggregatable"`
	AIPredictionField        bool               `json:"aiPredictionField"`
	AutoNumber               bool               `json:"autoNumber"`
	ByteLength               int                `json:"byteLength"`
	Calculated               bool               `json:"calculated"`
	CalculatedFormula        *string            `json:"calculatedFormula"`
	CascadeDelete            bool               `json:"cascadeDelete"`
	CaseSensitive            bool               `json:"caseSensitive"`
	CompoundFieldName        *string            `json:"compoundFieldName"`
	ControllerName           *string            `json:"controllerName"`
	Createable               bool               `json:"createable"`
	Custom                   bool               `json:"custom"`
	DefaultValue             any                `json:"defaultValue"`
	DefaultValueFormula      *string            `json:"defaultValueFormula"`
	DefaultedOnCreate        bool               `json:"defaultedOnCreate"`
	DependentPicklist        bool               `json:"dependentPicklist"`
	DeprecatedAndHidden      bool               `json:"deprecatedAndHidden"`
	Digits                   int                `json:"digits"`
	DisplayLocationInDecimal bool               `json:"displayLocationInDecimal"`
	Encrypted                bool               `json:"encrypted"`
	ExternalID               bool               `json:"externalId"`
	ExtraTypeInfo            *string            `json:"extraTypeInfo"`
	Filterable               bool               `json:"filterable"`
	FilteredLookupInfo       any                `json:"filteredLookupInfo"`
	FormulaTreatNullAsZero   bool               `json:"formulaTreatNullNumberAsZero"`
	Groupable                bool               `json:"groupable"`
	HighScaleNumber          bool               `json:"highScaleNumber"`
	HTMLFormatted            bool               `json:"htmlFormatted"`
	IDLookup                 bool               `json:"idLookup"`
	InlineHelpText           *string            `json:"inlineHelpText"`
	Label                    string             `json:"label"`
	Length                   int                `json:"length"`
	Mask                     *string            `json:"mask"`
	MaskType                 *string            `json:"maskType"`
	Name                     string             `json:"name"`
	NameField                bool               `json:"nameField"`
	NamePointing             bool               `json:"namePointing"`
	Nillable                 bool               `json:"nillable"`
	Permissionable           bool               `json:"permissionable"`
	PicklistValues           []picklistDescribe `json:"picklistValues"`
	PolymorphicForeignKey    bool               `json:"polymorphicForeignKey"`
	Precision                int                `json:"precision"`
	QueryByDistance          bool               `json:"queryByDistance"`
	ReferenceTargetField     *string            `json:"referenceTargetField"`
	ReferenceTo              []string           `json:"referenceTo"`
	RelationshipName         *string            `json:"relationshipName"`
	RelationshipOrder        *int               `json:"relationshipOrder"`
	RestrictedDelete         bool               `json:"restrictedDelete"`
	RestrictedPicklist       bool               `json:"restrictedPicklist"`
	Scale                    int                `json:"scale"`
	SearchPrefilterable      bool               `json:"searchPrefilterable"`
	SoapType                 string             `json:"soapType"`
	Sortable                 bool               `json:"sortable"`
	Type                     string             `json:"type"`
	Unique                   bool               `json:"unique"`
	Updateable               bool               `json:"updateable"`
	WriteRequiresMasterRead  bool               `json:"writeRequiresMasterRead"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func versionPath(version string) string {
	return "/services/data/v" + strings.TrimPrefix(version, "v")
}

func (o *SObject) urls(version string) map[string]string {
	base := versionPath(version) + "/sobjects/" + o.name
	u := map[string]string{
		"compactLayouts":  base + "/describe/compactLayouts",
		"rowTemplate":     base + "/{ID}",
		"approvalLayouts": base + "/describe/approvalLayouts",
		"defaultValues":   base + "/defaultValues?recordTypeId&fields",
		"listviews":       base + "/listviews",
		"describe":        base + "/describe",
		"quickActions":    base + "/quickActions",
		"layouts":         base + "/describe/layouts",
		"sobject":         base,
	}
	return u
}

func (o *SObject) objectDescribe(version string) objectDescribe {
	return objectDescribe{
		Createable: o.createable, Custom: o.custom, Deletable: o.deletable,
		FeedEnabled: o.searchable, KeyPrefix: o.keyPrefix, Label: o.label, LabelPlural: o.labelPlural,
		Layoutable: o.searchable, Mergeable: o.name == "Account" || o.name == "Contact" || o.name == "Lead",
		MruEnabled: o.searchable, Name: o.name, Queryable: true, Replicateable: true, Retrieveable: true,
		Searchable: o.searchable, Triggerable: o.createable, Undeletable: o.deletable,
		Updateable: o.updateable, URLs: o.urls(version),
	}
}

// DescribeGlobal is the body of GET /sobjects (encoding/json-ready).
func (s *Schema) DescribeGlobal(version string) any {
	g := describeGlobal{Encoding: "UTF-8", MaxBatchSize: 200}
	for _, o := range s.objects {
		g.SObjects = append(g.SObjects, o.objectDescribe(version))
	}
	return g
}

// Basic is the body of GET /sobjects/X (objectDescribe plus recentItems).
func (o *SObject) Basic(version string) any {
	return struct {
		ObjectDescribe objectDescribe `json:"objectDescribe"`
		RecentItems    []any          `json:"recentItems"`
	}{o.objectDescribe(version), []any{}}
}

// Describe is the body of GET /sobjects/X/describe (encoding/json-ready).
func (o *SObject) Describe(version string) any {
	b := o.objectDescribe(version)
	d := fullDescribe{
		ActionOverrides: []any{}, Createable: b.Createable, Custom: b.Custom, Deletable: b.Deletable,
		FeedEnabled: b.FeedEnabled, KeyPrefix: b.KeyPrefix, Label: b.Label, LabelPlural: b.LabelPlural,
		Layoutable: b.Layoutable, CompactLayoutable: b.Layoutable, Mergeable: b.Mergeable,
		MruEnabled: b.MruEnabled, Name: b.Name, NamedLayoutInfos: []any{}, Queryable: true,
		Replicateable: true, Retrieveable: true, SearchLayoutable: b.Searchable, Searchable: b.Searchable,
		Triggerable: b.Triggerable, Undeletable: b.Undeletable, Updateable: b.Updateable, URLs: b.URLs,
		ChildRelationships: []childRelDescribe{}, SupportedScopes: []scopeDescribe{{"All " + o.labelPlural, "everything"}},
	}
	if o.searchable {
		t, f := true, true
		d.Listviewable, d.LookupLayoutable = &t, &f
		d.SupportedScopes = append(d.SupportedScopes, scopeDescribe{"My " + o.labelPlural, "mine"})
	}
	for _, c := range o.children {
		d.ChildRelationships = append(d.ChildRelationships, childRelDescribe{
			ChildSObject: c.child.name, Field: c.field.Name, JunctionIDListNames: []string{},
			JunctionReferenceTo: []string{}, RelationshipName: strPtr(c.name),
			CascadeDelete: c.child.name == "AccountContactRelation" || c.child.name == "EngagementAttendee",
		})
	}
	// Master is every object's; an object with record types lists them first, the first being
	// the user's default, and Master is then not available to the user.
	layout := func(id string) map[string]string {
		return map[string]string{"layout": versionPath(version) + "/sobjects/" + o.name + "/describe/layouts/" + id}
	}
	for i, rt := range o.recordTypes {
		d.RecordTypeInfos = append(d.RecordTypeInfos, recordTypeDescribe{
			Active: true, Available: true, DefaultRecordTypeMapping: i == 0, DeveloperName: rt.developerName,
			Name: rt.name, RecordTypeID: rt.id, URLs: layout(rt.id)})
	}
	const master = "012000000000000AAA"
	d.RecordTypeInfos = append(d.RecordTypeInfos, recordTypeDescribe{
		Active: true, Available: len(o.recordTypes) == 0, DefaultRecordTypeMapping: len(o.recordTypes) == 0,
		DeveloperName: "Master", Master: true, Name: "Master", RecordTypeID: master, URLs: layout(master)})
	for _, f := range o.fields {
		d.Fields = append(d.Fields, f.describe())
	}
	return d
}

var soapTypes = map[string]string{
	"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "date": "xsd:date",
	"datetime": "xsd:dateTime", "double": "xsd:double", "currency": "xsd:double",
	"percent": "xsd:double", "int": "xsd:int",
}

func (f *FieldDef) describe() fieldDescribe {
	soap := soapTypes[f.Type]
	if soap == "" {
		soap = "xsd:string"
	}
	d := fieldDescribe{
		Aggregatable: f.Type != "textarea" && f.Type != "multipicklist" && f.Type != "boolean",
		AutoNumber:   f.AutoNumber, ByteLength: f.Length * 3, Calculated: f.Calculated,
		CaseSensitive: false, Createable: f.Createable, Custom: f.Custom,
		DefaultedOnCreate: f.DefaultedOnCreate, ExternalID: f.ExternalID,
		Filterable: f.Type != "textarea" || f.Length <= 255, Groupable: f.Type != "textarea" && f.Type != "multipicklist" && !f.isNumber() || f.Type == "int",
		IDLookup: f.IDLookup, Label: f.Label, Length: f.Length, Name: f.Name,
		NameField: f.NameField, Nillable: f.Nillable, Permissionable: f.Nillable && !f.Custom || f.Custom,
		PicklistValues: []picklistDescribe{}, PolymorphicForeignKey: len(f.documentedTo) > 1,
		ReferenceTo: []string{}, RelationshipName: strPtr(f.RelationshipName),
		RestrictedPicklist: f.RestrictedPicklist, SoapType: soap,
		Sortable: f.Type != "textarea" && f.Type != "multipicklist" || f.Length <= 255,
		Type:     f.Type, Unique: f.Unique, Updateable: f.Updateable,
	}
	if f.Type == "id" || f.Type == "reference" {
		d.ByteLength = 18
	}
	switch f.Type {
	case "boolean":
		d.DefaultValue = f.defaultOn
	case "double", "currency", "percent":
		d.Precision, d.Scale = 18, 2
	case "int":
		d.Digits = 9
	case "textarea":
		x := "plaintextarea"
		d.ExtraTypeInfo = &x
	}
	if f.documentedTo != nil {
		d.ReferenceTo = f.documentedTo
		d.NamePointing = len(f.documentedTo) > 1
	}
	if f.Type == "picklist" || f.Type == "multipicklist" {
		for _, p := range f.Picklist {
			d.PicklistValues = append(d.PicklistValues, picklistDescribe{Active: true, DefaultValue: p.DefaultValue, Label: p.Label, Value: p.Value})
		}
		if v := f.defaultPicklist(); v != "" {
			d.DefaultValue = v
		}
	}
	d.Permissionable = f.Nillable && f.Createable && f.Type != "id"
	return d
}
