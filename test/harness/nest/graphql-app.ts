/**
 * A real GraphQL app for the specs: @nestjs/graphql code-first (schema in memory) on
 * @nestjs/apollo's driver, Apollo Server 5 mounted on Express 5 by @as-integrations/express5
 * or on Fastify 5 by @as-integrations/fastify (the driver loads the one for the platform),
 * with LimitersModule on a harness Redis. The GraphQL context is the driver's default,
 * `{ req }`, what an app gets when it configures none, unless `graphql.context` says otherwise.
 */
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import type { INestApplication, Provider } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { LimitersModule } from '../../../lib/nest/limiters.module';
import type { LimitersModuleOptions } from '../../../lib/nest/limiters-options.interface';
import type { RedisClient } from '../redis-targets';
import type { AdapterName } from './limited-app';

export interface GraphqlAppParts {
  redis: RedisClient;
  options?: Omit<LimitersModuleOptions, 'redis'>;
  /** Resolvers and the services they call. */
  providers: Provider[];
  /** Driver options on top of the defaults here (a `context` of the app's own, say). */
  graphql?: Partial<ApolloDriverConfig>;
  /** The HTTP platform; Express by default. */
  adapter?: AdapterName;
}

export async function startGraphqlApp({
  redis,
  options,
  providers,
  graphql,
  adapter = 'express',
}: GraphqlAppParts): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      LimitersModule.forRoot({ ...options, redis }),
      GraphQLModule.forRoot<ApolloDriverConfig>({
        driver: ApolloDriver,
        autoSchemaFile: true,
        graphiql: false,
        ...graphql,
      }),
    ],
    providers,
  }).compile();
  const app =
    adapter === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter()) : moduleRef.createNestApplication();
  if (!process.env.LIMITERS_TEST_LOG) app.useLogger(false);
  await app.init();
  if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
  return app;
}

/** What a GraphQL POST answered: the parsed body, its raw text, and the HTTP status and headers. */
export interface GraphqlAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  body: { data?: Record<string, unknown> | null; errors?: GraphqlError[] };
}

export interface GraphqlError {
  message: string;
  path?: (string | number)[];
  extensions: Record<string, unknown> & { code?: string };
}

export async function postQuery(
  app: INestApplication,
  query: string,
  headers: Record<string, string> = {},
): Promise<GraphqlAnswer> {
  const res = await request(app.getHttpServer())
    .post('/graphql')
    .set({ 'content-type': 'application/json', ...headers })
    .send({ query });
  return { status: res.status, headers: res.headers as Record<string, string>, text: res.text, body: res.body };
}

/** The codes of an answer's errors, in order. */
export function errorCodes(answer: GraphqlAnswer): (string | undefined)[] {
  return (answer.body.errors ?? []).map((e) => e.extensions.code);
}
