#!/usr/bin/env node
/**
 * Writes the package.json of one matrix cell: `node .ci/matrix-manifest.js <nest major> <ioredis major>`.
 * Only the Nest packages and ioredis change major; the test tooling keeps the exact versions
 * the repository's lock file installed, so a cell that fails fails because of the majors.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const [nest, ioredis] = process.argv.slice(2).map(Number);
if (![10, 11, 12].includes(nest) || ![5, 6].includes(ioredis)) {
  console.error('usage: matrix-manifest.js <10|11|12> <5|6>');
  process.exit(2);
}
const root = join(__dirname, '..');
const installed = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

// What the matrix specs load: the module, decorators (with the RPC and WebSocket handlers),
// HTTP on both adapters, the health indicator, GraphQL, and the core.
const nestPackages = [
  '@nestjs/common', '@nestjs/core', '@nestjs/testing', '@nestjs/platform-express', '@nestjs/platform-fastify',
  '@nestjs/microservices', '@nestjs/websockets',
];
const tooling = [
  'jest', 'ts-jest', 'typescript', 'tsx', '@types/jest', '@types/node', '@types/supertest', 'supertest',
  'reflect-metadata', 'rxjs', '@liaoliaots/nestjs-redis', '@opentelemetry/api', 'graphql',
  // The harness connects node-redis clients too (test/harness/connect.ts).
  'redis',
];
const devDependencies = {};
for (const name of nestPackages) devDependencies[name] = `^${nest}`;
// Terminus numbers its majors after Nest's; 11 also serves Nest 10, and is the oldest whose
// health check reads an indicator's 'down' result (10 wants a thrown HealthCheckError).
devDependencies['@nestjs/terminus'] = `^${Math.max(nest, 11)}`;
// @nestjs/graphql and @nestjs/apollo number their majors two above Nest's (12, 13, 14: our peer
// range). Under Nest 10 it is Apollo Server 4, which brings its Express 4 middleware, and Fastify 4's
// integration (2); under 11 and 12 Apollo Server 5 with @as-integrations/express5 and Fastify 5's (3).
devDependencies['@nestjs/graphql'] = `^${nest + 2}`;
devDependencies['@nestjs/apollo'] = `^${nest + 2}`;
devDependencies['@apollo/server'] = nest === 10 ? '^4' : '^5';
devDependencies['@as-integrations/fastify'] = nest === 10 ? '^2' : '^3';
if (nest > 10) devDependencies['@as-integrations/express5'] = '^1';
for (const name of tooling) devDependencies[name] = installed(name);
devDependencies.ioredis = `^${ioredis}`;

const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const manifest = {
  // lib/store/redis/lua-scripts.ts names its commands after the nearest nestjs-limiters package.json.
  name: own.name,
  version: own.version,
  description: `compatibility matrix cell: Nest ${nest}, ioredis ${ioredis}`,
  private: true,
  devDependencies,
  // @liaoliaots/nestjs-redis 10 asks for Nest 10 and ioredis 5; it is tested on every cell's pair.
  overrides: {
    '@liaoliaots/nestjs-redis': { '@nestjs/common': '$@nestjs/common', '@nestjs/core': '$@nestjs/core', ioredis: '$ioredis' },
  },
};
process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
