// Writes the CWE catalog the validator checks names against (cwe.json beside csaf.go):
// node internal/csaf/testdata/cwe.mjs > internal/csaf/cwe.json
import { weaknesses } from '@secvisogram/csaf-validator-lib/cwe.js'
const m = {}
for (const w of weaknesses) m[w.id] = w.name
process.stdout.write(JSON.stringify(m, Object.keys(m).sort((a, b) => +a.slice(4) - +b.slice(4)), 0) + '\n')
