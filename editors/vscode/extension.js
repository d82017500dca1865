// The kvpspec extension: starts `kvpspec lsp` for .survey files and talks LSP to it over stdio.
"use strict";
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("kvpspec").get("server.command");
  const server = { command, args, options: { env: process.env } };
  client = new LanguageClient(
    "kvpspec",
    "kvpspec language server",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "kvpspec" }, { scheme: "untitled", language: "kvpspec" }] },
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
