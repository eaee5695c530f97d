// Validates CSAF 2.0 documents with the BSI validator library: the JSON schema and every
// mandatory test (section 6.1). Usage: node validate.mjs FILE...; prints one JSON line
// per file ({"file","valid","errors"}) and exits 1 when any is invalid.
import { readFileSync } from 'node:fs'
import * as schema from '@secvisogram/csaf-validator-lib/schemaTests.js'
import * as mandatory from '@secvisogram/csaf-validator-lib/mandatoryTests.js'
import validate from '@secvisogram/csaf-validator-lib/validate.js'

const tests = [...Object.values(schema), ...Object.values(mandatory)]
let bad = 0
for (const file of process.argv.slice(2)) {
  const doc = JSON.parse(readFileSync(file, 'utf8'))
  const res = await validate(tests, doc)
  const errors = res.tests.filter((t) => !t.isValid || t.errors.length).map((t) => ({ test: t.name, errors: t.errors }))
  if (!res.isValid) bad++
  console.log(JSON.stringify({ file, valid: res.isValid, tests: res.tests.length, errors }))
}
process.exit(bad ? 1 : 0)
