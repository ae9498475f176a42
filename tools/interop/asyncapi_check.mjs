// Checks an AsyncAPI document with tools nobody on ccproto wrote: the AsyncAPI parser (its Spectral
// ruleset and schema checks) and Modelina (models generated from the parsed document).
//
//     node asyncapi_check.mjs PATH
//
// Prints every diagnostic (severity, code, message, path), then how many models Modelina's TypeScript
// and Python generators produced, and as the LAST line one JSON summary:
//     {"diagnostics": [{"severity", "code", "message", "path"}, ...],
//      "models": {"typescript": N | {"error": "..."}, "python": M | {"error": "..."}}}
// Exit status 0 only when no diagnostic is an error (0) or a warning (1) and both generators produced at
// least one model without throwing; 1 otherwise; 2 on bad usage or an unreadable file.
// Modelina 5 reads AsyncAPI up to 3.0.0 (given a newer document it silently treats it as one JSON Schema
// and produces one empty model). A newer 3.x document that parsed cleanly is therefore handed to Modelina
// as the same text labelled with the newest version Modelina reads, and the summary says so
// ("modelina_read_as"); 3.1's changes to the specification (none to the message and schema objects a
// payload uses) do not touch what Modelina generates from.
// Relative `$ref`s to other files resolve against PATH's folder (fromFile gives the parser the source).

import { readFileSync } from "node:fs";
import { resolve } from "node:path";

import { Parser, fromFile } from "@asyncapi/parser";
import { AsyncAPIInputProcessor, PythonGenerator, TypeScriptGenerator } from "@asyncapi/modelina";

const SEVERITY = ["error", "warning", "information", "hint"];

const path = process.argv[2];
if (process.argv.length !== 3) {
  process.stderr.write("usage: node asyncapi_check.mjs PATH\n");
  process.exit(2);
}
const source = resolve(path);
try {
  readFileSync(source);
} catch (err) {
  process.stderr.write(`asyncapi_check: cannot read ${source}: ${err.message}\n`);
  process.exit(2);
}

// Whatever the libraries print on their own goes to stderr, so the summary stays the last stdout line.
console.log = (...args) => console.error(...args);
console.info = (...args) => console.error(...args);

const parser = new Parser();
const { document, diagnostics } = await fromFile(parser, source).parse();

const found = diagnostics.map((d) => ({
  severity: d.severity,
  code: d.code === undefined ? null : String(d.code),
  message: d.message,
  path: (d.path ?? []).map(String),
}));
for (const d of found) {
  process.stdout.write(`${SEVERITY[d.severity] ?? d.severity} [${d.code}] ${d.message} at /${d.path.join("/")}\n`);
}
process.stdout.write(`${found.length} diagnostic(s); document ${document === undefined ? "NOT parsed" : "parsed"}\n`);

let modelled = document;
let readAs = null;
const supported = AsyncAPIInputProcessor.supportedVersions;
if (document !== undefined && !supported.includes(document.version()) && document.version().startsWith("3.")) {
  readAs = supported.filter((v) => v.startsWith("3.")).sort().at(-1) ?? null;
  if (readAs !== null) {
    const text = readFileSync(source, "utf8").replace(/^asyncapi:\s*["']?3\.[0-9.]+["']?\s*$/m, `asyncapi: ${readAs}`);
    modelled = (await parser.parse(text, { source })).document;
    process.stdout.write(`Modelina reads AsyncAPI ${supported.join(", ")}: the document is given to it as ${readAs}\n`);
  }
}

const models = {};
const names = {};
const generators = { typescript: new TypeScriptGenerator(), python: new PythonGenerator() };
for (const [language, generator] of Object.entries(generators)) {
  if (modelled === undefined) {
    models[language] = { error: "the parser produced no document" };
  } else if (!supported.includes(modelled.version())) {
    // Modelina would not refuse: it would read the whole document as ONE JSON Schema (one empty model).
    models[language] = {
      error: `Modelina reads AsyncAPI ${supported.join(", ")}; this document is ${modelled.version()}`,
    };
  } else {
    try {
      const output = await generator.generate(modelled);
      models[language] = output.length;
      names[language] = output.map((m) => m.modelName);
    } catch (err) {
      models[language] = { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
  }
  const result = models[language];
  process.stdout.write(
    typeof result === "number"
      ? `${language}: ${result} model(s): ${names[language].join(", ")}\n`
      : `${language}: FAILED: ${result.error}\n`,
  );
}

const clean =
  !found.some((d) => d.severity === 0 || d.severity === 1) &&
  Object.values(models).every((n) => typeof n === "number" && n > 0);
process.stdout.write(JSON.stringify({ diagnostics: found, models, modelina_read_as: readAs }) + "\n");
process.exitCode = clean ? 0 : 1;
