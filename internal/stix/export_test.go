package stix

import (
	"encoding/json"
	"testing"
)

// SchemaValidator gives the external tests of this package the OASIS schema check: it
// validates obj against the named schema, failing t when it does not.
func SchemaValidator(t *testing.T) func(schema string, obj json.RawMessage) {
	s := loadSchemas(t)
	return func(schema string, obj json.RawMessage) {
		t.Helper()
		s.validate(t, schema, obj)
	}
}

// BundleSchemaLists is bundleSchemaLists for the external tests.
var BundleSchemaLists = bundleSchemaLists
