// Starts an unpacked MCPB bundle the way a desktop client does, and checks it answers.
//
// Usage: node check-bundle.mjs MCPB_MODULE_DIR UNPACKED_DIR ALLOWED_DIR
//
// The command line and environment come from the bundle's manifest.json through the mcpb
// package's own getMcpConfigForManifest (the function Claude Desktop uses to fill in
// ${__dirname} and ${user_config.*}), with a made-up API key and ALLOWED_DIR as the chosen
// folder. Then: initialize, notifications/initialized and tools/list over stdio; the check
// passes when tools come back. No tool is called, and MISTRAL_BASE_URL points at a closed
// local port besides, so nothing can reach Mistral.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [moduleDir, bundleDir, allowedDir] = process.argv.slice(2);
if (!moduleDir || !bundleDir || !allowedDir) {
  console.error("usage: check-bundle.mjs MCPB_MODULE_DIR UNPACKED_DIR ALLOWED_DIR");
  process.exit(2);
}
const { getMcpConfigForManifest } = await import(
  pathToFileURL(path.join(moduleDir, "dist", "index.js")).href
);

const manifest = JSON.parse(readFileSync(path.join(bundleDir, "manifest.json"), "utf8"));
const config = await getMcpConfigForManifest({
  manifest,
  extensionPath: bundleDir,
  systemDirs: {},
  userConfig: { api_key: "test-key-not-real", allowed_directory: allowedDir },
  pathSeparator: path.sep,
  logger: console,
});
if (!config) throw new Error("getMcpConfigForManifest gave no config (required field missing?)");
for (const [k, v] of Object.entries(config.env ?? {})) {
  if (v.includes("${")) throw new Error(`env ${k} still holds a placeholder: ${v}`);
}
if (config.env?.MISTRAL_API_KEY !== "test-key-not-real") throw new Error("MISTRAL_API_KEY not filled in");
if (!config.env?.MISTRAL_MCP_ALLOWED_DIRS?.startsWith(allowedDir)) {
  throw new Error(`MISTRAL_MCP_ALLOWED_DIRS is ${config.env?.MISTRAL_MCP_ALLOWED_DIRS}`);
}
console.log(`command: ${config.command} ${(config.args ?? []).join(" ")}`);
console.log(`env: MISTRAL_MCP_ALLOWED_DIRS=${config.env.MISTRAL_MCP_ALLOWED_DIRS}`);

const child = spawn(config.command, config.args ?? [], {
  env: { PATH: process.env.PATH ?? "", MISTRAL_BASE_URL: "http://127.0.0.1:9", ...config.env },
  stdio: ["pipe", "pipe", "inherit"],
});
const timer = setTimeout(() => {
  console.error("no tools/list answer within 20 s");
  child.kill();
  process.exit(1);
}, 20000);

let buf = "";
const waiting = new Map();
child.stdout.on("data", (chunk) => {
  buf += chunk;
  let nl;
  while ((nl = buf.indexOf("\n")) >= 0) {
    const line = buf.slice(0, nl).trim();
    buf = buf.slice(nl + 1);
    if (!line) continue;
    const msg = JSON.parse(line);
    if (msg.id !== undefined && waiting.has(msg.id)) {
      waiting.get(msg.id)(msg);
      waiting.delete(msg.id);
    }
  }
});
child.on("exit", (code) => {
  if (waiting.size > 0) {
    console.error(`server exited (${code}) before answering`);
    process.exit(1);
  }
});
const send = (msg) => child.stdin.write(JSON.stringify(msg) + "\n");
const request = (id, method, params) =>
  new Promise((resolve) => {
    waiting.set(id, resolve);
    send({ jsonrpc: "2.0", id, method, params });
  });

const init = await request(1, "initialize", {
  protocolVersion: "2025-06-18",
  capabilities: {},
  clientInfo: { name: "mcpb-bundle-check", version: "1" },
});
if (init.error) throw new Error(`initialize failed: ${JSON.stringify(init.error)}`);
console.log(`server: ${init.result.serverInfo.name} ${init.result.serverInfo.version}`);
send({ jsonrpc: "2.0", method: "notifications/initialized" });
const list = await request(2, "tools/list", {});
if (list.error) throw new Error(`tools/list failed: ${JSON.stringify(list.error)}`);
const tools = list.result.tools ?? [];
if (tools.length === 0) throw new Error("tools/list returned no tools");
console.log(`tools/list: ${tools.length} tools (first: ${tools[0].name})`);
clearTimeout(timer);
child.stdin.end();
child.kill();
