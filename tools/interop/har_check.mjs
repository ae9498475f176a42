// Checks HAR documents against har-schema (the HAR 1.2 JSON Schemas the har-validator ecosystem uses), with Ajv:
// a format definition and a validator nobody on ccproto wrote. The sample captures ccproto ships as HAR files must be
// HAR files any HAR tool reads.
//
// stdin:  ONE JSON document {"documents": {NAME: HAR, ...}}
// stdout: ONE JSON document {"errors": {NAME: ["<instancePath> <message>", ...]}}  (an empty list: valid)
//
// har-schema is draft-06 and uses keywords of its own ("optional", "min"), so Ajv runs non-strict (as
// har-validator runs it) with the draft-06 meta-schema added.
//
// Exit status: 0 with the answer on stdout; 2 on malformed input (a message on stderr).

import { createRequire } from "node:module";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import harSchema from "har-schema";

const require = createRequire(import.meta.url);
const draft06 = require("ajv/dist/refs/json-schema-draft-06.json");

function validator() {
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  ajv.addMetaSchema(draft06);
  addFormats(ajv);
  for (const schema of Object.values(harSchema)) {
    ajv.addSchema(schema);
  }
  return ajv.getSchema("har.json#");
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  let request;
  try {
    request = JSON.parse(input);
  } catch (err) {
    process.stderr.write(`stdin is not JSON: ${err.message}\n`);
    process.exit(2);
  }
  if (typeof request !== "object" || request === null || typeof request.documents !== "object") {
    process.stderr.write('stdin must be {"documents": {NAME: HAR, ...}}\n');
    process.exit(2);
  }
  const validate = validator();
  const errors = {};
  for (const [name, document] of Object.entries(request.documents)) {
    errors[name] = validate(document)
      ? []
      : validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`);
  }
  process.stdout.write(JSON.stringify({ errors }));
});
