// Entry point of the standalone server: `npm start`. Configuration comes from the environment
// (see README); with no API keys it runs in a dev mode with one generated key, printed once.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { installRealtimeDrain } from '../realtime-drain.js';
import { createStandaloneApp } from './create-app.js';
import { EnvConfigError, loadStandaloneConfig } from './env-config.js';
import { loadOpsConfig } from './ops-env.js';

async function bootstrap(): Promise<void> {
  const logger = new Logger('Standalone');
  let config;
  let ops;
  try {
    config = loadStandaloneConfig();
    ops = loadOpsConfig();
  } catch (err) {
    if (err instanceof EnvConfigError) {
      logger.error(`Invalid configuration: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const app = await createStandaloneApp(config, {}, ops);
  // SIGTERM (what an orchestrator sends) drains: ready turns 503, new mints and upgrades get 503
  // server_draining, live sessions continue for up to REALTIME_DRAIN_SECONDS, then the rest end with
  // server_shutdown and the process exits 0; a second SIGTERM exits at once. SIGINT (Ctrl-C at a
  // terminal) still closes at once: sessions get server_shutdown + 1001 and the process exits.
  installRealtimeDrain(app, { drainTimeoutMs: ops.drainSeconds * 1000 });
  app.enableShutdownHooks(['SIGINT']);
  await app.listen(config.port, config.host ?? '0.0.0.0');
  const url = (await app.getUrl()).replace('[::1]', 'localhost').replace('127.0.0.1', 'localhost');
  logger.log(`Realtime gateway listening on ${url}`);
  logger.log(`API reference: ${url}/docs (OpenAPI JSON at ${url}/docs-json)`);
  if (config.demo) {
    logger.log(`Demo page: ${url}/ (mints tickets with the server's key for anyone who can reach it; REALTIME_DEMO=false turns it off)`);
  }
  if (config.devApiKey) {
    // Printed once, to stdout only, so the developer can copy it; it is not kept anywhere.
    process.stdout.write(
      [
        '',
        '  DEV MODE: no REALTIME_API_KEYS configured. One runtime API key was generated for this run',
        '  (project "dev"). It is printed only now and changes at every start:',
        '',
        `    REALTIME_API_KEY=${config.devApiKey}`,
        '',
        '  Set REALTIME_API_KEYS=<project>:<key>[,...] for real deployments.',
        '',
        '',
      ].join('\n'),
    );
  }
}

void bootstrap();
