'use strict';
// The program behind every stand-in command on a sandbox droplet's PATH (docker, cloud-init, systemctl, …).
// Usage: node stand-in-client.cjs <socket> <tool> [args…]. It forwards the invocation to the sandbox process over the
// droplet's unix socket and replays the streamed answer, so all behaviour lives in (typed, tested) sandbox code.
// Plain JavaScript run by node alone (no TypeScript loader): it starts in a fifth of the time, and every docker,
// systemctl or cloud-init call on a droplet pays that start. Protocol: sandbox/droplets/command-socket.ts.
const { connect } = require('node:net');

const [socketPath, tool, ...argv] = process.argv.slice(2);

function unreachable() {
  if (tool === 'docker') {
    process.stderr.write('Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n');
  } else {
    process.stderr.write(`${tool || 'stand-in'}: the droplet's host agent is not answering\n`);
  }
  process.exit(1);
}

if (!socketPath || !tool) unreachable();

const env = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;

let exitCode;
let buffered = '';
const socket = connect(socketPath);
socket.on('error', () => {
  if (exitCode === undefined) unreachable();
});
socket.on('connect', () => socket.write(`${JSON.stringify({ tool, argv, cwd: process.cwd(), env })}\n`));
socket.on('data', (chunk) => {
  buffered += chunk.toString('utf8');
  let newline = buffered.indexOf('\n');
  while (newline >= 0) {
    const frame = JSON.parse(buffered.slice(0, newline));
    buffered = buffered.slice(newline + 1);
    if (frame.o !== undefined) process.stdout.write(Buffer.from(frame.o, 'base64'));
    if (frame.e !== undefined) process.stderr.write(Buffer.from(frame.e, 'base64'));
    if (frame.x !== undefined) exitCode = frame.x;
    newline = buffered.indexOf('\n');
  }
});
socket.on('close', () => {
  if (exitCode === undefined) unreachable();
  process.exitCode = exitCode;
});
