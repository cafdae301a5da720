import type { Command } from 'commander';
import { startCodecServer } from '../codec/codec-server';
import { loadCodec } from '../controller';
import { cliConfig } from './context';
import { untilInterrupted } from '../controller/signals';

export function registerCodecServer(program: Command): void {
  program
    .command('codec-server')
    .description('serve the payload codec on loopback so the Temporal UI and `temporal --codec-endpoint` show payloads in clear')
    .option('-p, --port <port>', 'port on 127.0.0.1', '8888')
    .option('--ui-origin <origin...>', 'Temporal UI origins allowed by CORS', ['http://127.0.0.1:8233', 'http://localhost:8233'])
    .action(async (opts: { port: string; uiOrigin: string[] }) => {
      const server = await startCodecServer(loadCodec(cliConfig()), {
        port: Number(opts.port),
        allowedOrigins: opts.uiOrigin,
        onUndecodable: (reason) => process.stderr.write(`a payload was left encoded: ${reason}\n`),
      });
      process.stderr.write(`codec server at ${server.url}; Ctrl-C stops it\n`);
      await untilInterrupted();
      await server.close();
    });
}
