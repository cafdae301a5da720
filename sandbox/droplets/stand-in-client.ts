// The program behind every stand-in command on a sandbox droplet's PATH (docker, cloud-init, systemctl, …).
// Usage: stand-in-client <socket> <tool> [args…]. It forwards the invocation to the sandbox process over the
// droplet's unix socket and replays the streamed answer, so all behaviour lives in (typed, tested) sandbox code.
import { connect } from 'node:net';

const [socketPath, tool, ...argv] = process.argv.slice(2);

function unreachable(): never {
  if (tool === 'docker') {
    process.stderr.write(
      'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n',
    );
  } else {
    process.stderr.write(`${tool ?? 'stand-in'}: the droplet's host agent is not answering\n`);
  }
  process.exit(1);
}

if (!socketPath || !tool) unreachable();

const env: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;

let exitCode: number | undefined;
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
    const frame = JSON.parse(buffered.slice(0, newline)) as { o?: string; e?: string; x?: number };
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
