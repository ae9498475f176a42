// Checks JSON Schemas (draft 2020-12) and instances with Ajv, a validator nobody on ccproto wrote.
//
// stdin:  ONE JSON document {"schemas": {NAME: SCHEMA, ...}, "cases": [[NAME, INSTANCE], ...],
//                            "patterns": [[PATTERN, STRING], ...]}            (every key optional)
// stdout: ONE JSON document {"compile": {NAME: [complaint, ...]}, "valid": [bool|null, ...],
//                            "matches": [bool|null, ...]}
//
// compile[NAME] lists every complaint Ajv raises or logs while compiling NAME in strict mode (empty when
// clean). Strict mode stops at the first violation it throws, so a schema that fails is compiled a second
// time with every strict option at "log" to list the rest; the verdicts always come from the strict
// compilation. valid[i] is null when the schema of cases[i] did not compile. matches[i] is
// new RegExp(PATTERN, "u").test(STRING), which is what Ajv does for `pattern` (unicodeRegExp, its
// default); null when PATTERN is not a valid "u" regular expression.
//
// Exit status: 0 with the answer on stdout; 2 on malformed input (a message on stderr).

import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const STRICT = {
  strict: true,
  strictSchema: true,
  strictNumbers: true,
  strictTypes: true,
  strictTuples: true,
  strictRequired: true,
};
const LOGGED = {
  strict: "log",
  strictSchema: "log",
  strictNumbers: "log",
  strictTypes: "log",
  strictTuples: "log",
  strictRequired: "log",
};

function text(args) {
  return args
    .map((a) => (a instanceof Error ? a.message : typeof a === "string" ? a : JSON.stringify(a)))
    .join(" ");
}

// A fresh Ajv per schema (no $id can clash), every logger call kept in `sink`.
function makeAjv(strictness, sink) {
  const logger = {
    log: () => {},
    warn: (...args) => sink.push(text(args)),
    error: (...args) => sink.push(text(args)),
  };
  const ajv = new Ajv2020({ ...strictness, allErrors: true, logger });
  addFormats(ajv);
  return ajv;
}

function compile(schema) {
  const complaints = [];
  let validate = null;
  try {
    validate = makeAjv(STRICT, complaints).compile(schema);
  } catch (err) {
    complaints.push(err instanceof Error ? err.message : String(err));
  }
  if (validate === null) {
    // List the violations after the first: log them instead of throwing.
    const logged = [];
    try {
      makeAjv(LOGGED, logged).compile(schema);
    } catch (err) {
      logged.push(err instanceof Error ? err.message : String(err));
    }
    for (const c of logged) if (!complaints.includes(c)) complaints.push(c);
  }
  return { validate, complaints };
}

function fail(message) {
  process.stderr.write(`ajv_check: ${message}\n`);
  process.exit(2);
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

const raw = await readStdin();
let input;
try {
  input = JSON.parse(raw);
} catch (err) {
  fail(`stdin is not one JSON document: ${err.message}`);
}
if (!isObject(input)) fail("stdin must be a JSON object");
const schemas = input.schemas ?? {};
const cases = input.cases ?? [];
const patterns = input.patterns ?? [];
if (!isObject(schemas)) fail('"schemas" must be an object');
if (!Array.isArray(cases)) fail('"cases" must be an array');
if (!Array.isArray(patterns)) fail('"patterns" must be an array');

const compiled = new Map();
const out = { compile: {}, valid: [], matches: [] };
for (const name of Object.keys(schemas)) {
  const { validate, complaints } = compile(schemas[name]);
  compiled.set(name, validate);
  out.compile[name] = complaints;
}

for (const [i, c] of cases.entries()) {
  if (!Array.isArray(c) || c.length !== 2 || typeof c[0] !== "string") fail(`cases[${i}] must be [NAME, INSTANCE]`);
  if (!compiled.has(c[0])) fail(`cases[${i}] names schema ${JSON.stringify(c[0])}, which is not in "schemas"`);
  const validate = compiled.get(c[0]);
  out.valid.push(validate === null ? null : validate(c[1]) === true);
}

for (const [i, p] of patterns.entries()) {
  if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "string" || typeof p[1] !== "string") {
    fail(`patterns[${i}] must be [PATTERN, STRING]`);
  }
  let re;
  try {
    re = new RegExp(p[0], "u");
  } catch {
    out.matches.push(null);
    continue;
  }
  out.matches.push(re.test(p[1]));
}

// JSON.stringify escapes lone surrogates, so the answer is always valid UTF-8 JSON.
process.stdout.write(JSON.stringify(out) + "\n");
