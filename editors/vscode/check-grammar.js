// Tokenizes spec files with the TextMate grammar (vscode-textmate + vscode-oniguruma, as VS Code does)
// and prints, as JSON, for each file: the tokens scoped `invalid`, and the scope of the first token
// of each text. Used by tests/test_highlight.py:  node check-grammar.js FILE...
"use strict";
const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

async function main() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== "source.kvpspec") return null;
      const file = path.join(__dirname, "syntaxes", "kvpspec.tmLanguage.json");
      return vsctm.parseRawGrammar(fs.readFileSync(file, "utf8"), file);
    },
  });
  const grammar = await registry.loadGrammar("source.kvpspec");
  const out = {};
  for (const file of process.argv.slice(2)) {
    const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
    let stack = vsctm.INITIAL;
    const invalid = [];
    const scopes = {};
    lines.forEach((line, i) => {
      const result = grammar.tokenizeLine(line, stack);
      for (const token of result.tokens) {
        const text = line.slice(token.startIndex, token.endIndex);
        const scope = token.scopes[token.scopes.length - 1];
        if (token.scopes.some((s) => s.startsWith("invalid"))) invalid.push([i + 1, text]);
        if (text.trim() && !(text in scopes)) scopes[text] = scope;
      }
      stack = result.ruleStack;
    });
    out[file] = { invalid, scopes };
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
